//! The print service: print jobs in, PDFs out.
