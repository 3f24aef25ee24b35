#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| puresasl_ffi::base64::fuzz(data));
