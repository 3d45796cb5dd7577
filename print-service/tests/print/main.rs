//! Integration tests of the print service with real peers: ipptool and a private CUPS
//! queue against the IPP endpoint over TLS, pdftotext/pdfinfo reading the PDFs, SQLite
//! and PostgreSQL underneath; the renderer's formats (`render`).

mod support;

mod cups;
mod ipptool;
mod pipeline;
mod render;
