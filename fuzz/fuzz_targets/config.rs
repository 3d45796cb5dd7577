//! Whatever an operator (or a tool templating the file, or an environment variable) puts
//! in Hamn's configuration, parsing and validation report problems naming their keys or
//! give settings — never a panic. The input is the TOML text, then optionally a NUL and
//! `NAME=value` lines as environment overrides (`HAMN_GATEWAY__LISTEN=…`).
#![no_main]

use hamn_fuzz::config::{Problems, Sources, load, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (text, env) = input.split_once('\0').unwrap_or((input, ""));
    let env: Vec<(String, String)> = env
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let check = |problems: &Problems| {
        assert!(!problems.0.is_empty());
        for problem in &problems.0 {
            assert!(
                !problem.key.is_empty(),
                "a problem without its key: {problem}"
            );
        }
    };
    match parse(text, &env) {
        Ok(raw) => {
            if let Err(problems) = raw.validate() {
                check(&problems);
            }
        }
        Err(problems) => check(&problems),
    }
    let sources = Sources {
        text: Some(text),
        env,
        ..Sources::default()
    };
    if let Err(problems) = load(sources) {
        check(&problems);
    }
});
