"""Render letters to files: Typst PDF (`render.pdf`, one batch split per letter), DOCX (`render.docx`) and MIME.

The submodules import their heavy libraries (typst, pikepdf, python-docx) inside functions, so importing
them costs the CLI nothing at start-up. Files are written with `outreach.files.write_atomically`.
"""
