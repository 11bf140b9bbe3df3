"""Local stand-ins for the AWS and HTTP pieces, so the product runs offline: moto, the stream runner, the inbox."""
