#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| puresasl::fuzzing::run("digest_md5_session_layer", data));
