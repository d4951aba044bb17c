"""Clients, invoices, money and the workspace's finance options."""
