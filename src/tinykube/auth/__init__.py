"""Who is asking and what they may do: authentication (static token, x509 client certificates,
ServiceAccount tokens), impersonation, RBAC authorization, the review APIs and the
ServiceAccount admission plugin."""
