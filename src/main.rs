//! The `hamn` binary: wires the service libraries together behind one command line.
fn main() {}
