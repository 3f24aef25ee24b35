#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| puresasl::fuzzing::run("single_message_servers", data));
