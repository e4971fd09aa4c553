"""Search, scrape and crawl backends (SerpAPI, SearXNG, Firecrawl) and the built-in page reader."""
