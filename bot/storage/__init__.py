"""Storage: the source of truth for feeds, items, matches, chats, subscriptions and deliveries."""
