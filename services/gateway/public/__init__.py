"""The public's routes (no sign-in): file a complaint on the web, follow it with
the tracking number and access code, answer the follow-up survey, and read the
service-commitment register."""
