//! Writing a whole Berkeley DB hash file (§13 of the format reference).
//!
//! The layout is the one libdb itself creates for a table pre-sized to `N` buckets: `N` a
//! power of two, bucket `b` on page `b + 1`, chain and overflow pages after page `N`, no free
//! list, no holes. Each bucket page holds its pairs in libdb's binary-search order (§8.6);
//! pairs with an off-page key go on their own chain pages after the others, so lookups
//! never depend on the contradictory mixed order. libdb opens, searches and keeps modifying
//! such files.

#![allow(
    clippy::cast_possible_truncation,
    reason = "offsets, item counts and chunk lengths are bounded by the page size (at most 65536, \
              whose truncation to 0 in hf_offset is libdb's own); bucket numbers are below 2^32"
)]

use super::{
    ByteOrder, CHARKEY, H_KEYDATA, H_OFFPAGE, HASH_MAGIC, P_HASH, P_HASHMETA, P_OVERFLOW,
    PAGE_HEADER, ham_func5, onpage_key_order,
};
use zeroize::Zeroize as _;

use crate::error::StoreError;

/// Layout choices for [`write()`].
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Page size: a power of two in 512..=65536 (libdb picks 4096 on Debian).
    pub page_size: usize,
    /// Byte order of the integers (little-endian on every machine that matters).
    pub byte_order: ByteOrder,
    /// The file ID (§5.2); random, never constant.
    pub uid: [u8; 20],
}

impl WriteOptions {
    /// 4096-byte little-endian pages with the given file ID.
    pub fn new(uid: [u8; 20]) -> Self {
        WriteOptions {
            page_size: 4096,
            byte_order: ByteOrder::Little,
            uid,
        }
    }
}

/// The encoded size of an item of `len` bytes on a page: inline or a 12-byte reference.
fn item_size(len: usize, big: usize) -> usize {
    if len > big { 12 } else { 1 + len }
}

struct Writer {
    ps: usize,
    order: ByteOrder,
    pages: Vec<Vec<u8>>,
}

/// The pages hold the stored secrets (plaintext passwords among them): wipe them.
impl Drop for Writer {
    fn drop(&mut self) {
        self.pages.zeroize();
    }
}

impl Writer {
    fn new_page(&mut self) -> Result<u32, StoreError> {
        let pgno = u32::try_from(self.pages.len())
            .map_err(|_| StoreError::Io("database too large".into()))?;
        self.pages.push(vec![0u8; self.ps]);
        Ok(pgno)
    }

    fn page_mut(&mut self, pgno: u32) -> &mut Vec<u8> {
        // Page numbers come only from `new_page`.
        &mut self.pages[pgno as usize]
    }

    fn header(&mut self, pgno: u32, prev: u32, entries: u16, hf_offset: u16, kind: u8) {
        let order = self.order;
        let page = self.page_mut(pgno);
        page[0..4].copy_from_slice(&order.u32_bytes(0));
        page[4..8].copy_from_slice(&order.u32_bytes(1));
        page[8..12].copy_from_slice(&order.u32_bytes(pgno));
        page[12..16].copy_from_slice(&order.u32_bytes(prev));
        page[20..22].copy_from_slice(&order.u16_bytes(entries));
        page[22..24].copy_from_slice(&order.u16_bytes(hf_offset));
        page[24] = 0;
        page[25] = kind;
    }

    fn link(&mut self, pgno: u32, next: u32) {
        let bytes = self.order.u32_bytes(next);
        self.page_mut(pgno)[16..20].copy_from_slice(&bytes);
    }

    /// Writes `item` as an overflow chain; returns the 12-byte `H_OFFPAGE` item.
    fn overflow(&mut self, item: &[u8]) -> Result<Vec<u8>, StoreError> {
        let chunk_len = self.ps - PAGE_HEADER;
        let mut first = 0;
        let mut prev = 0;
        for chunk in item.chunks(chunk_len) {
            let pgno = self.new_page()?;
            // chunk.len() <= ps - 26 < 65536.
            self.header(pgno, prev, 1, chunk.len() as u16, P_OVERFLOW);
            self.page_mut(pgno)[PAGE_HEADER..PAGE_HEADER + chunk.len()].copy_from_slice(chunk);
            if prev == 0 {
                first = pgno;
            } else {
                self.link(prev, pgno);
            }
            prev = pgno;
        }
        let total =
            u32::try_from(item.len()).map_err(|_| StoreError::Io("item too large".into()))?;
        let mut reference = vec![H_OFFPAGE, 0, 0, 0];
        reference.extend_from_slice(&self.order.u32_bytes(first));
        reference.extend_from_slice(&self.order.u32_bytes(total));
        Ok(reference)
    }

    fn encode(&mut self, item: &[u8]) -> Result<Vec<u8>, StoreError> {
        if item.len() > self.ps / 4 {
            self.overflow(item)
        } else {
            let mut encoded = Vec::with_capacity(1 + item.len());
            encoded.push(H_KEYDATA);
            encoded.extend_from_slice(item);
            Ok(encoded)
        }
    }

    /// Lays out `items` (already encoded, key/data alternating) on hash page `pgno`.
    fn fill_hash_page(&mut self, pgno: u32, prev: u32, items: &[Vec<u8>]) {
        let order = self.order;
        let ps = self.ps;
        let mut offset = ps;
        let page = self.page_mut(pgno);
        for (i, item) in items.iter().enumerate() {
            offset -= item.len();
            page[offset..offset + item.len()].copy_from_slice(item);
            page[PAGE_HEADER + 2 * i..PAGE_HEADER + 2 * i + 2]
                .copy_from_slice(&order.u16_bytes(offset as u16));
        }
        // For 64 KiB pages an empty page stores 65536 truncated to 0, as libdb does.
        let hf_offset = (offset & 0xffff) as u16;
        self.header(pgno, prev, items.len() as u16, hf_offset, P_HASH);
    }
}

/// Lays out `pairs` (distinct keys) as a complete hash database file.
///
/// Keys and values are opaque bytes; an item larger than a quarter page goes to overflow
/// pages. Fails only if the database would exceed the format's limits.
pub fn write(pairs: &[(&[u8], &[u8])], options: &WriteOptions) -> Result<Vec<u8>, StoreError> {
    let ps = options.page_size;
    if !(512..=65536).contains(&ps) || !ps.is_power_of_two() {
        return Err(StoreError::Io(format!("invalid page size {ps}")));
    }
    let big = ps / 4;
    let pair_bytes: usize = pairs
        .iter()
        .map(|(k, v)| item_size(k.len(), big) + item_size(v.len(), big) + 4)
        .sum();
    let usable = (ps - PAGE_HEADER) * 3 / 4;
    let buckets = pair_bytes.div_ceil(usable).max(2).next_power_of_two();
    let buckets = u32::try_from(buckets).map_err(|_| StoreError::Io("too many buckets".into()))?;
    let high_mask = buckets - 1;

    let mut by_bucket: Vec<Vec<(&[u8], &[u8])>> = vec![Vec::new(); buckets as usize];
    for &(key, value) in pairs {
        by_bucket[(ham_func5(key) & high_mask) as usize].push((key, value));
    }

    let mut writer = Writer {
        ps,
        order: options.byte_order,
        pages: Vec::new(),
    };
    for _ in 0..=buckets {
        writer.new_page()?;
    }
    for (bucket, mut bucket_pairs) in by_bucket.into_iter().enumerate() {
        // Small keys first in libdb's on-page order, then big keys lexicographically, each
        // group starting on its own page.
        bucket_pairs.sort_by(|(a, _), (b, _)| {
            (a.len() > big).cmp(&(b.len() > big)).then_with(|| {
                if a.len() > big {
                    a.cmp(b)
                } else {
                    onpage_key_order(a, b)
                }
            })
        });
        let first = bucket as u32 + 1;
        let mut pgno = first;
        let mut prev = 0;
        let mut items: Vec<Vec<u8>> = Vec::new();
        let mut used = PAGE_HEADER;
        let mut big_keys = false;
        for (key, value) in bucket_pairs {
            let key_is_big = key.len() > big;
            let key_item = writer.encode(key)?;
            let value_item = writer.encode(value)?;
            let need = key_item.len() + value_item.len() + 4;
            let group_change = key_is_big && !big_keys && !items.is_empty();
            if group_change || used + need > ps {
                writer.fill_hash_page(pgno, prev, &items);
                let next = writer.new_page()?;
                writer.link(pgno, next);
                prev = pgno;
                pgno = next;
                items.zeroize();
                used = PAGE_HEADER;
            }
            big_keys |= key_is_big;
            used += need;
            items.push(key_item);
            items.push(value_item);
        }
        writer.fill_hash_page(pgno, prev, &items);
        items.zeroize();
    }

    let last_pgno = u32::try_from(writer.pages.len() - 1)
        .map_err(|_| StoreError::Io("database too large".into()))?;
    let count = u32::try_from(pairs.len()).map_err(|_| StoreError::Io("too many pairs".into()))?;
    let order = options.byte_order;
    let meta = writer.page_mut(0);
    let mut put = |offset: usize, value: u32| {
        meta[offset..offset + 4].copy_from_slice(&order.u32_bytes(value));
    };
    put(4, 1); // lsn (0, 1)
    put(12, HASH_MAGIC);
    put(16, 9);
    put(20, ps as u32);
    put(32, last_pgno);
    put(72, high_mask); // max_bucket
    put(76, high_mask);
    put(80, high_mask >> 1);
    put(88, count); // nelem
    put(92, CHARKEY);
    for doubling in 0..=buckets.trailing_zeros() as usize {
        put(96 + 4 * doubling, 1);
    }
    meta[25] = P_HASHMETA;
    meta[52..72].copy_from_slice(&options.uid);
    Ok(writer.pages.concat())
}

#[cfg(test)]
mod tests {
    use super::super::HashDb;
    use super::*;

    fn round_trip(pairs: &[(Vec<u8>, Vec<u8>)], options: &WriteOptions) {
        let borrowed: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
            .collect();
        let file = write(&borrowed, options).unwrap();
        assert_eq!(file.len() % options.page_size, 0);
        let db = HashDb::parse(file).unwrap();
        for (key, value) in pairs {
            assert_eq!(db.get(key).unwrap().as_deref(), Some(value), "{key:?}");
        }
        assert!(db.get(b"absent\0key").unwrap().is_none());
        let mut read: Vec<(Vec<u8>, Vec<u8>)> = db
            .pairs()
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, v.to_vec()))
            .collect();
        read.sort();
        let mut expected = pairs.to_vec();
        expected.sort();
        assert_eq!(read, expected);
    }

    #[test]
    fn round_trips_in_both_orders_and_page_sizes() {
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..500)
            .map(|i| {
                (
                    format!("user{i}\0EXAMPLE.ORG\0userPassword").into_bytes(),
                    format!("password{i}").into_bytes(),
                )
            })
            .collect();
        pairs.push((b"a".to_vec(), vec![]));
        pairs.push((b"ab".to_vec(), vec![7; 1025]));
        pairs.push((vec![b'a'; 1100], vec![1; 70000]));
        pairs.push((vec![b'a'; 5000], vec![2; 4070]));
        for page_size in [512, 4096, 65536] {
            for byte_order in [ByteOrder::Little, ByteOrder::Big] {
                round_trip(
                    &pairs,
                    &WriteOptions {
                        page_size,
                        byte_order,
                        uid: [9; 20],
                    },
                );
            }
        }
        round_trip(&[], &WriteOptions::new([1; 20]));
    }
}
