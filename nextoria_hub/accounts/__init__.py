"""Sign-up, sign-in, sessions and the team of a workspace."""
