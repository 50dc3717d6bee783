"""A static site generator for our team wiki: pages in, HTML files out."""
