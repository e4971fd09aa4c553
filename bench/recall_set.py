"""A held-out recall set: facts a member tells the bot, a later question in other words for each,
and near-miss distractors (facts about the same topics that must not be mistaken for the answer;
they are stored too and compete for the 10 places in the prompt).

Written for this benchmark; not used to tune anything in the cog.
"""

# (fact the member asks the bot to remember, a later question worded differently)
FACTS = [
    ("My daughter's name is Lucia and she is seven", "How old is my girl and what's she called?"),
    ("I am allergic to peanuts", "Is there any food I must avoid eating?"),
    ("My car is a blue 2014 Honda Civic", "What vehicle do I drive?"),
    ("I work as a nurse at the children's hospital", "What's my job?"),
    ("My wife's birthday is on the 14th of March", "When should I celebrate my spouse's birthday?"),
    ("I live in a flat in Rotterdam", "Which city is my home in?"),
    ("My cat Pixel is a grey Maine Coon", "What breed is my pet?"),
    ("I'm learning Japanese for a trip next spring", "Which language am I studying?"),
    ("My favourite band is Radiohead", "What music group do I like most?"),
    ("I run a half marathon every October", "What race do I do each autumn?"),
    ("I take my coffee black with no sugar", "How do I like my coffee?"),
    ("My laptop is a ThinkPad X1 Carbon", "What computer do I use?"),
    ("I'm vegetarian since 2019", "Do I eat meat?"),
    ("My brother Tomás lives in Buenos Aires", "Where does my sibling live?"),
    ("I play bass guitar in a jazz trio", "What instrument do I play?"),
    ("My employee number at work is 55821", "What's my staff ID?"),
    ("I'm afraid of flying and prefer trains", "How do I prefer to travel long distances?"),
    ("My dentist appointment is on Friday at 9am", "When am I seeing the dentist?"),
    ("I support Feyenoord football club", "Which soccer team am I a fan of?"),
    ("My WiFi router is in the hallway cupboard", "Where did I put the internet box?"),
    ("I have type 1 diabetes", "Do I have any chronic medical condition?"),
    ("My favourite dish is mushroom risotto", "What food do I love the most?"),
    ("I studied mechanical engineering at Delft", "What did I study at university?"),
    ("My son is scared of the dark and needs a night light", "What does my boy need at bedtime?"),
    ("I drink oat milk because lactose upsets my stomach", "What milk do I use and why?"),
    ("My partner Sam is a graphic designer", "What does my partner do for a living?"),
    ("I'm saving money to buy a sailboat", "What am I saving up for?"),
    ("My shoe size is 44", "What size shoes do I wear?"),
    ("I wake up at 5:30 every weekday", "What time do I get up on work days?"),
    ("My grandmother taught me to knit", "Who showed me how to knit?"),
    ("I use Neovim as my code editor", "Which text editor do I program in?"),
    ("My blood type is O negative", "What is my blood group?"),
    ("I volunteer at the food bank on Saturdays", "What do I do on weekend mornings to help people?"),
    ("My favourite film is Spirited Away", "Which movie do I like best?"),
    ("I'm training my dog Bruno to fetch", "What am I teaching my dog?"),
    ("My phone is a Pixel 8", "Which smartphone do I have?"),
    ("I hate coriander, it tastes like soap to me", "Which herb should never be in my food?"),
    ("My mother's maiden name is Okafor", "What was my mum's surname before marriage?"),
    ("I'm renovating the bathroom this summer", "Which room am I redoing?"),
    ("My favourite colour is emerald green", "What colour do I like most?"),
    ("I keep my spare house key under the blue flowerpot", "Where is my extra key hidden?"),
    ("My gym sessions are Monday, Wednesday and Friday evenings", "Which days do I work out?"),
    ("I was born in Lagos, Nigeria", "What is my birthplace?"),
    (
        "My team at work uses Kotlin for the Android app",
        "Which programming language does my team use for mobile?",
    ),
    ("I want to visit Iceland to see the northern lights", "Which country is on my travel wishlist?"),
]

# Near misses: same topics, wrong answers. Stored for the same member, they compete for recall.
DISTRACTORS = [
    "My neighbour's daughter is called Lucy",
    "My colleague is allergic to cats",
    "My sister drives a red Toyota",
    "My cousin works as a teacher",
    "My mother's birthday is in July",
    "I used to live in Utrecht as a student",
    "My neighbour has a black labrador",
    "I studied French at school but forgot it",
    "I don't like heavy metal music",
    "I cycled to work once last year",
    "My boss drinks green tea",
    "My old desktop computer broke in 2020",
    "My brother-in-law is a butcher",
    "My friend plays the drums",
    "The office door code is 1234",
]

# Another member's facts: these must never appear in the first member's prompts.
OTHER_MEMBER = [
    "My daughter is called Emma",
    "I am allergic to shellfish",
    "My car is a green Volvo",
    "I work as a pilot",
    "I live in Hamburg",
]
