"""Certificates: the server's CA, server and client certificates, TLS contexts."""
