"""Taking payments: the Stripe connection, checkout, webhooks, autopay."""
