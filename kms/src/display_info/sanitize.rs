//! Block-level repair of EDID data before it is parsed.
//!
//! Real monitors ship EDIDs with wrong checksums, wrong extension counts and padding;
//! drivers and dump tools add truncation. A display must still light up, so this
//! module turns whatever arrived into a well-formed block sequence and says what it
//! changed. The rules follow what the Linux kernel accepts, because that is what the
//! display gets on real hardware: a broken header with at least six good bytes is
//! fixed, a CTA-861 block with a bad checksum is kept (many TVs have one), any other
//! extension block with a bad checksum is dropped, and data beyond the declared
//! extension count is ignored unless an HDMI Forum EEODB block says it belongs.

/// One EDID block.
pub const BLOCK: usize = 128;
const HEADER: [u8; 8] = [0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00];
const TAG_CTA: u8 = 0x02;

/// The repaired blocks, ready for the parser, and what was wrong with the input.
#[derive(Debug, Default)]
pub struct Sanitized {
    /// Block 0 followed by the extension blocks kept, checksums and count consistent.
    pub bytes: Vec<u8>,
    /// Human-readable descriptions of every repair.
    pub problems: Vec<String>,
}

fn checksum_ok(block: &[u8]) -> bool {
    block.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)) == 0
}

fn fix_checksum(block: &mut [u8]) {
    let sum = block[..BLOCK - 1]
        .iter()
        .fold(0u8, |sum, b| sum.wrapping_add(*b));
    block[BLOCK - 1] = 0u8.wrapping_sub(sum);
}

/// The extension count an HF-EEODB data block in the first CTA extension overrides
/// the base block's count with (HDMI 2.1, section 10.3.6), if there is one.
fn eeodb_count(block: &[u8]) -> Option<usize> {
    if block.first() != Some(&TAG_CTA) {
        return None;
    }
    // The EEODB must be the first data block: extended tag 0x78 and one count byte.
    let first = 4;
    let tag = block[first] >> 5;
    let len = usize::from(block[first] & 0x1f);
    if usize::from(block[2]) > first + 2 && tag == 7 && len >= 2 && block[first + 1] == 0x78 {
        return Some(usize::from(block[first + 2]));
    }
    None
}

/// Repairs `data` as described in the module documentation. Returns `None` when there
/// is no base block to speak of (too short, or a header too broken to be an EDID).
pub fn sanitize(data: &[u8]) -> Option<Sanitized> {
    let mut problems = Vec::new();
    if data.len() < BLOCK {
        return None;
    }
    let good_header_bytes = data.iter().zip(HEADER).filter(|(a, b)| **a == *b).count();
    if good_header_bytes < 6 {
        return None;
    }
    let mut base = data[..BLOCK].to_vec();
    if good_header_bytes < HEADER.len() {
        problems.push("the EDID header was damaged and has been repaired".to_owned());
        base[..HEADER.len()].copy_from_slice(&HEADER);
    }
    let declared = usize::from(base[126]);
    let whole_blocks = data.len() / BLOCK;
    if data.len() % BLOCK != 0 {
        problems.push(format!(
            "the data ends with a partial block of {} bytes, which is ignored",
            data.len() % BLOCK
        ));
    }
    let mut wanted = declared;
    if let Some(override_count) = data.get(BLOCK..2 * BLOCK).and_then(eeodb_count) {
        if override_count > declared {
            wanted = override_count;
        }
    }
    let available = whole_blocks - 1;
    if available < wanted {
        problems.push(format!(
            "the EDID declares {wanted} extension blocks but holds {available}"
        ));
    } else if available > wanted {
        problems.push(format!(
            "{} blocks follow the {wanted} extension blocks the EDID declares; they are ignored",
            available - wanted
        ));
    }

    let mut kept: Vec<Vec<u8>> = Vec::new();
    for index in 1..=wanted.min(available) {
        let mut block = data[index * BLOCK..(index + 1) * BLOCK].to_vec();
        if checksum_ok(&block) {
            kept.push(block);
        } else if block[0] == TAG_CTA {
            problems.push(format!(
                "block {index} (CTA-861) has a bad checksum; its content is used anyway"
            ));
            fix_checksum(&mut block);
            kept.push(block);
        } else {
            problems.push(format!(
                "block {index} (tag {:#04x}) has a bad checksum and is ignored",
                block[0]
            ));
        }
    }

    if !checksum_ok(&base) {
        problems.push("the base block has a bad checksum; its content is used anyway".to_owned());
    }
    // Extension counts above 255 only exist through EEODB; the parser reads the count
    // from byte 126, so it gets what fits and the rest is reported above.
    let count = kept.len().min(255);
    kept.truncate(count);
    base[126] = count as u8;
    fix_checksum(&mut base);

    let mut bytes = base;
    for block in kept {
        bytes.extend_from_slice(&block);
    }
    Some(Sanitized { bytes, problems })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base_block(extensions: u8) -> Vec<u8> {
        let mut block = vec![0u8; BLOCK];
        block[..8].copy_from_slice(&HEADER);
        block[18] = 1;
        block[19] = 4;
        block[126] = extensions;
        fix_checksum(&mut block);
        block
    }

    fn extension(tag: u8) -> Vec<u8> {
        let mut block = vec![0u8; BLOCK];
        block[0] = tag;
        block[1] = 3;
        block[2] = 4;
        fix_checksum(&mut block);
        block
    }

    #[test]
    fn short_or_headerless_data_is_not_an_edid() {
        assert!(sanitize(&[0u8; 100]).is_none());
        assert!(sanitize(&[0x55u8; 128]).is_none());
    }

    #[test]
    fn a_clean_edid_passes_unchanged() {
        let mut data = base_block(1);
        data.extend(extension(TAG_CTA));
        let out = sanitize(&data).unwrap();
        assert_eq!(out.bytes, data);
        assert!(out.problems.is_empty());
    }

    #[test]
    fn padding_and_missing_blocks_are_reported_and_the_count_fixed() {
        let mut data = base_block(1);
        data.extend(extension(TAG_CTA));
        data.extend(vec![0u8; 2 * BLOCK]);
        let out = sanitize(&data).unwrap();
        assert_eq!(out.bytes.len(), 2 * BLOCK);
        assert_eq!(out.problems.len(), 1);

        let data = base_block(3);
        let out = sanitize(&data).unwrap();
        assert_eq!(out.bytes[126], 0);
        assert!(checksum_ok(&out.bytes[..BLOCK]));
        assert!(out.problems[0].contains("declares 3"));
    }

    #[test]
    fn bad_checksums_keep_cta_and_drop_other_blocks() {
        let mut data = base_block(2);
        let mut cta = extension(TAG_CTA);
        cta[10] ^= 0x40;
        let mut vendor = extension(0xff);
        vendor[10] ^= 0x40;
        data.extend(cta);
        data.extend(vendor);
        let out = sanitize(&data).unwrap();
        assert_eq!(out.bytes.len(), 2 * BLOCK);
        assert_eq!(out.bytes[126], 1);
        assert!(out.bytes.chunks(BLOCK).all(checksum_ok));
        assert_eq!(out.problems.len(), 2);
    }

    #[test]
    fn a_slightly_damaged_header_is_repaired() {
        let mut data = base_block(0);
        data[1] = 0x7f;
        let out = sanitize(&data).unwrap();
        assert_eq!(&out.bytes[..8], &HEADER);
        assert!(checksum_ok(&out.bytes));
    }
}
