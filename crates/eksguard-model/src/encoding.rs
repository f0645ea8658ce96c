//! Base64 as it appears in Kubernetes and AWS data: standard or URL-safe alphabet, padded
//! or not, wrapped over several lines.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decodes base64 text, whitespace ignored; `None` when it is not base64.
pub fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(&compact)
        .or_else(|_| URL_SAFE.decode(&compact))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::decode_base64;

    #[test]
    fn accepts_the_forms_found_in_the_wild() {
        assert_eq!(decode_base64(b"aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64(b"aGk").unwrap(), b"hi");
        assert_eq!(decode_base64(b"aGVs\nbG8=\n").unwrap(), b"hello");
        assert_eq!(decode_base64(b"-_8").unwrap(), [0xfb, 0xff]);
        assert!(decode_base64(b"not base64!").is_none());
    }
}
