//! Fuzzes the bundle parser: any bytes must give a bundle or an error with a bundle code —
//! never a panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match holdfast_core::bundle::format::parse(data) {
        Ok(bundle) => {
            // What parses must serialise again and parse to the same bundle.
            let bytes = holdfast_core::bundle::format::to_bytes(&bundle).expect("serialise");
            let again = holdfast_core::bundle::format::parse(&bytes).expect("re-parse");
            assert_eq!(again, bundle);
        }
        Err(e) => assert!(e.code().is_validation(), "unexpected error kind: {e}"),
    }
});
