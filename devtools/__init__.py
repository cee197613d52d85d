"""Developer tools: a throwaway local PostgreSQL shaped like Heroku's, for tests and try-outs."""
