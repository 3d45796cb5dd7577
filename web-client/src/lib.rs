//! The browser client: static ES modules, styles and pages embedded in the binary.
