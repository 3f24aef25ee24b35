//! Reading a Berkeley DB hash file held in memory (§12 of the format reference).
//!
//! [`HashDb::parse`] checks the metadata page once; [`HashDb::get`] then hashes the key,
//! walks only that key's bucket chain and compares keys exactly, so a lookup costs one
//! bucket, not a scan. Every page number, offset and length read from the file is checked
//! before use: a corrupt, truncated or hostile file gives [`StoreError::Corrupt`], never a
//! panic, a loop or an allocation larger than the file itself.

use zeroize::Zeroizing;

use super::{
    BTREE_MAGIC, ByteOrder, H_KEYDATA, H_OFFPAGE, HASH_MAGIC, HEAP_MAGIC, P_HASH, P_HASH_UNSORTED,
    P_HASHMETA, P_INVALID, P_OVERFLOW, PAGE_HEADER, QUEUE_MAGIC, ceil_log2, ham_func5,
};
use crate::error::StoreError;

/// A key and its value, as [`HashDb::pairs`] returns them.
pub type Pair = (Vec<u8>, Zeroizing<Vec<u8>>);

/// Called for each pair of a bucket chain: the page and the index of the key item.
type Visitor<'v> = dyn FnMut(&[u8], usize) -> Result<(), StoreError> + 'v;

/// A parsed Berkeley DB hash file. The bytes (secrets included) are zeroized on drop.
pub struct HashDb {
    data: Zeroizing<Vec<u8>>,
    order: ByteOrder,
    page_size: usize,
    /// Pages that may be referenced: `min(last_pgno + 1, file pages)`.
    pages: u32,
    max_bucket: u32,
    high_mask: u32,
    low_mask: u32,
    spares: [u32; 32],
}

impl std::fmt::Debug for HashDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashDb")
            .field("order", &self.order)
            .field("page_size", &self.page_size)
            .field("pages", &self.pages)
            .field("max_bucket", &self.max_bucket)
            .finish_non_exhaustive()
    }
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

/// A page header (§3).
struct Header {
    pgno: u32,
    next: u32,
    entries: u16,
    hf_offset: u16,
    kind: u8,
}

impl HashDb {
    /// Checks the metadata page of `data` (a whole file) and keeps it for lookups.
    ///
    /// Rejects, with [`StoreError::Corrupt`]: non-BDB data, the other libdb access methods,
    /// hash versions other than 7–9, checksummed, encrypted, partitioned, duplicate and
    /// sub-database files (none of which sasldb uses, §16), and a length that is not a whole
    /// number of pages (libdb refuses those too).
    pub fn parse(data: impl Into<Vec<u8>>) -> Result<Self, StoreError> {
        let data = Zeroizing::new(data.into());
        if data.len() < 512 {
            return Err(corrupt("not a Berkeley DB file (shorter than 512 bytes)"));
        }
        let magic_bytes = array4(&data, 12).ok_or_else(|| corrupt("short metadata page"))?;
        let order = if u32::from_le_bytes(magic_bytes) == HASH_MAGIC {
            ByteOrder::Little
        } else if u32::from_be_bytes(magic_bytes) == HASH_MAGIC {
            ByteOrder::Big
        } else {
            let other = [
                u32::from_le_bytes(magic_bytes),
                u32::from_be_bytes(magic_bytes),
            ];
            let method = if other.contains(&BTREE_MAGIC) {
                "a Berkeley DB btree"
            } else if other.contains(&QUEUE_MAGIC) {
                "a Berkeley DB queue"
            } else if other.contains(&HEAP_MAGIC) {
                "a Berkeley DB heap"
            } else {
                "not a Berkeley DB hash file"
            };
            return Err(corrupt(format!(
                "{method}, not a Berkeley DB hash file as sasldb2 uses"
            )));
        };
        let meta_u32 = |offset: usize| -> u32 {
            // The first 512 bytes are present, checked above.
            array4(&data, offset).map_or(0, |b| order.u32(b))
        };
        let version = meta_u32(16);
        if !(7..=9).contains(&version) {
            return Err(corrupt(format!("unsupported hash version {version}")));
        }
        let page_size = meta_u32(20);
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(corrupt(format!("invalid page size {page_size}")));
        }
        let page_size = page_size as usize;
        let byte = |offset: usize| data.get(offset).copied().unwrap_or(0);
        if byte(25) != P_HASHMETA || meta_u32(8) != 0 {
            return Err(corrupt("page 0 is not a hash metadata page"));
        }
        if byte(24) != 0 {
            return Err(corrupt("encrypted databases are not supported"));
        }
        if byte(26) != 0 || meta_u32(36) != 0 {
            return Err(corrupt(
                "checksummed or partitioned databases are not supported",
            ));
        }
        if meta_u32(48) & 0x7 != 0 {
            return Err(corrupt(
                "databases with duplicates or sub-databases are not supported",
            ));
        }
        if data.len() % page_size != 0 {
            return Err(corrupt("file size is not a multiple of the page size"));
        }
        let file_pages = u32::try_from(data.len() / page_size)
            .map_err(|_| corrupt("file has too many pages"))?;
        let last_pgno = meta_u32(32);
        let pages = last_pgno.saturating_add(1).min(file_pages);
        let max_bucket = meta_u32(72);
        let high_mask = meta_u32(76);
        let low_mask = meta_u32(80);
        // A buckets' page must be computable without overflow; masks must select buckets
        // that exist after the low_mask fallback.
        if low_mask > high_mask || max_bucket > last_pgno {
            return Err(corrupt("inconsistent bucket masks"));
        }
        let mut spares = [0u32; 32];
        for (i, spare) in spares.iter_mut().enumerate() {
            *spare = meta_u32(96 + 4 * i);
        }
        Ok(HashDb {
            data,
            order,
            page_size,
            pages,
            max_bucket,
            high_mask,
            low_mask,
            spares,
        })
    }

    /// The file's byte order.
    pub fn byte_order(&self) -> ByteOrder {
        self.order
    }

    /// The page size.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The highest bucket number (`max_bucket`).
    pub fn max_bucket(&self) -> u32 {
        self.max_bucket
    }

    /// The value stored under `key`, if any; walks only the key's bucket.
    pub fn get(&self, key: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        self.get_hashed(key, ham_func5(key))
    }

    /// [`get`](Self::get) with the key's `ham_func5` hash already known (keys sharing a
    /// prefix hash it once); a wrong hash finds nothing.
    pub fn get_hashed(
        &self,
        key: &[u8],
        hash: u32,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let mut bucket = hash & self.high_mask;
        if bucket > self.max_bucket {
            bucket &= self.low_mask;
        }
        let mut found = None;
        self.walk_bucket(bucket, None, &mut |page, key_index| {
            if found.is_some() {
                return Ok(());
            }
            if self.item_equals(page, key_index, key)? {
                found = Some(self.item(page, key_index + 1)?);
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Every key/value pair in the file, bucket by bucket (the order `db5.3_dump` uses).
    ///
    /// A page reachable twice, or items adding up to more bytes than the file holds (a
    /// chain referenced twice), is corruption: libdb never writes either, and refusing them
    /// bounds the time and memory a hostile file can cost.
    pub fn pairs(&self) -> Result<Vec<Pair>, StoreError> {
        let mut pairs = Vec::new();
        let (mut visited, mut budget) = self.full_walk();
        for bucket in self.buckets() {
            self.walk_bucket(bucket, Some(&mut visited), &mut |page, key_index| {
                let key = self.item(page, key_index)?;
                let value = self.item(page, key_index + 1)?;
                budget.spend(key.len() + value.len())?;
                pairs.push((key.to_vec(), value));
                Ok(())
            })?;
        }
        Ok(pairs)
    }

    /// Every key in the file (no values copied), in [`HashDb::pairs`] order.
    pub fn keys(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut keys = Vec::new();
        let (mut visited, mut budget) = self.full_walk();
        for bucket in self.buckets() {
            self.walk_bucket(bucket, Some(&mut visited), &mut |page, key_index| {
                let key = self.item(page, key_index)?;
                budget.spend(key.len())?;
                keys.push(key.to_vec());
                Ok(())
            })?;
        }
        Ok(keys)
    }

    /// The buckets a walk over every bucket visits: `0..=max_bucket`, but never past the
    /// file's pages. A bucket's first page is at least its number (`bucket + spares[..]`), so
    /// a bucket numbered at or past the end of the file is empty; stopping there keeps a
    /// hostile `max_bucket` (up to `u32::MAX`) from costing billions of empty iterations.
    fn buckets(&self) -> std::ops::RangeInclusive<u32> {
        0..=self.max_bucket.min(self.pages.saturating_sub(1))
    }

    /// The state of a walk over every bucket: no page seen yet, and at most the file's
    /// size in item bytes.
    fn full_walk(&self) -> (Vec<bool>, Budget) {
        (vec![false; self.pages as usize], Budget(self.data.len()))
    }

    fn page(&self, pgno: u32) -> Result<&[u8], StoreError> {
        if pgno >= self.pages {
            return Err(corrupt(format!("reference to page {pgno} beyond the file")));
        }
        let start = (pgno as usize)
            .checked_mul(self.page_size)
            .ok_or_else(|| corrupt("page offset overflow"))?;
        self.data
            .get(start..start + self.page_size)
            .ok_or_else(|| corrupt(format!("page {pgno} truncated")))
    }

    fn header(&self, page: &[u8]) -> Header {
        let u32_at = |offset| array4(page, offset).map_or(0, |b| self.order.u32(b));
        let u16_at = |offset| array2(page, offset).map_or(0, |b| self.order.u16(b));
        Header {
            pgno: u32_at(8),
            next: u32_at(16),
            entries: u16_at(20),
            hf_offset: u16_at(22),
            kind: page.get(25).copied().unwrap_or(P_INVALID),
        }
    }

    /// The page of the first page of `bucket` (§6).
    fn bucket_page(&self, bucket: u32) -> Result<u32, StoreError> {
        let doubling = ceil_log2(bucket.saturating_add(1)) as usize;
        let spare = self
            .spares
            .get(doubling)
            .copied()
            .ok_or_else(|| corrupt("bucket beyond the spares table"))?;
        bucket
            .checked_add(spare)
            .ok_or_else(|| corrupt("bucket page number overflow"))
    }

    /// Calls `visit(page, key_index)` for every pair of `bucket`'s chain.
    /// With `visited`, a page already seen (in any bucket) is corruption.
    fn walk_bucket(
        &self,
        bucket: u32,
        mut visited: Option<&mut Vec<bool>>,
        visit: &mut Visitor<'_>,
    ) -> Result<(), StoreError> {
        let mut pgno = self.bucket_page(bucket)?;
        if pgno == 0 {
            return Err(corrupt(format!(
                "bucket {bucket} maps to the metadata page"
            )));
        }
        // A first bucket page at or beyond the end is an empty, not yet created bucket.
        if pgno >= self.pages {
            return Ok(());
        }
        let mut steps = 0u32;
        while pgno != 0 {
            steps += 1;
            if steps > self.pages {
                return Err(corrupt(format!("bucket {bucket} chain has a cycle")));
            }
            let page = self.page(pgno)?;
            if let Some(seen) = visited.as_deref_mut() {
                match seen.get_mut(pgno as usize) {
                    Some(flag) if !*flag => *flag = true,
                    _ => return Err(corrupt(format!("page {pgno} is in two bucket chains"))),
                }
            }
            let header = self.header(page);
            if header.pgno == 0 && header.kind == P_INVALID {
                // A hole: a page libdb reserved but never wrote; an empty bucket.
                return Ok(());
            }
            if header.pgno != pgno {
                return Err(corrupt(format!(
                    "page {pgno} claims to be page {}",
                    header.pgno
                )));
            }
            if header.kind != P_HASH && header.kind != P_HASH_UNSORTED {
                return Err(corrupt(format!(
                    "page {pgno} in bucket {bucket} has type {}",
                    header.kind
                )));
            }
            self.check_index(page, &header, pgno)?;
            for pair in 0..usize::from(header.entries) / 2 {
                visit(page, 2 * pair)?;
            }
            pgno = header.next;
        }
        Ok(())
    }

    /// Checks a hash page's index array: even count, not overlapping the items, offsets
    /// strictly decreasing and inside the page.
    fn check_index(&self, page: &[u8], header: &Header, pgno: u32) -> Result<(), StoreError> {
        let entries = usize::from(header.entries);
        if entries % 2 != 0 {
            return Err(corrupt(format!("page {pgno} has an odd number of items")));
        }
        let index_end = PAGE_HEADER + 2 * entries;
        let mut previous = self.page_size;
        for i in 0..entries {
            let offset = self.index(page, i)?;
            if offset >= previous || offset < index_end {
                return Err(corrupt(format!("page {pgno} item {i} is out of order")));
            }
            previous = offset;
        }
        let _ = header.hf_offset;
        Ok(())
    }

    fn index(&self, page: &[u8], i: usize) -> Result<usize, StoreError> {
        array2(page, PAGE_HEADER + 2 * i)
            .map(|b| usize::from(self.order.u16(b)))
            .ok_or_else(|| corrupt("index array beyond the page"))
    }

    /// The raw bytes of item `i` on `page` (its type byte first). `check_index` has run.
    fn raw_item<'p>(&self, page: &'p [u8], i: usize) -> Result<&'p [u8], StoreError> {
        let start = self.index(page, i)?;
        let end = if i == 0 {
            self.page_size
        } else {
            self.index(page, i - 1)?
        };
        page.get(start..end)
            .filter(|item| !item.is_empty())
            .ok_or_else(|| corrupt("item outside its page"))
    }

    /// Item `i` of `page`, following an overflow chain if it is off-page.
    fn item(&self, page: &[u8], i: usize) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let raw = self.raw_item(page, i)?;
        match raw.first().copied() {
            Some(H_KEYDATA) => Ok(Zeroizing::new(raw.get(1..).unwrap_or_default().to_vec())),
            Some(H_OFFPAGE) => {
                let (first, total) = self.offpage(raw)?;
                let mut value = Zeroizing::new(Vec::with_capacity(total));
                self.walk_overflow(first, total, &mut |chunk| {
                    value.extend_from_slice(chunk);
                    true
                })?;
                Ok(value)
            }
            Some(kind) => Err(corrupt(format!("unsupported item type {kind}"))),
            None => Err(corrupt("empty item")),
        }
    }

    /// Whether item `i` of `page` equals `wanted`, without copying an off-page item.
    fn item_equals(&self, page: &[u8], i: usize, wanted: &[u8]) -> Result<bool, StoreError> {
        let raw = self.raw_item(page, i)?;
        match raw.first().copied() {
            Some(H_KEYDATA) => Ok(raw.get(1..) == Some(wanted)),
            Some(H_OFFPAGE) => {
                let (first, total) = self.offpage(raw)?;
                if total != wanted.len() {
                    return Ok(false);
                }
                let mut position = 0;
                let mut equal = true;
                self.walk_overflow(first, total, &mut |chunk| {
                    let end = position + chunk.len();
                    equal = wanted.get(position..end) == Some(chunk);
                    position = end;
                    equal
                })?;
                Ok(equal)
            }
            Some(kind) => Err(corrupt(format!("unsupported key type {kind}"))),
            None => Err(corrupt("empty item")),
        }
    }

    /// The first page and total length of an `H_OFFPAGE` item, the length bounded by what
    /// the file could hold.
    fn offpage(&self, raw: &[u8]) -> Result<(u32, usize), StoreError> {
        let (Some(first), Some(total), 12) = (array4(raw, 4), array4(raw, 8), raw.len()) else {
            return Err(corrupt("malformed off-page item"));
        };
        let total = self.order.u32(total) as usize;
        if total > self.data.len() {
            return Err(corrupt("off-page item longer than the file"));
        }
        Ok((self.order.u32(first), total))
    }

    /// Feeds the chunks of the overflow chain starting at `first` to `chunk`, which returns
    /// false to stop early. The chunks must add up to exactly `total` bytes.
    fn walk_overflow(
        &self,
        first: u32,
        total: usize,
        chunk: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), StoreError> {
        let mut pgno = first;
        let mut seen = 0usize;
        let mut steps = 0u32;
        loop {
            if pgno == 0 {
                return Err(corrupt("overflow chain shorter than its item"));
            }
            steps += 1;
            if steps > self.pages {
                return Err(corrupt("overflow chain has a cycle"));
            }
            let page = self.page(pgno)?;
            let header = self.header(page);
            if header.kind != P_OVERFLOW || header.pgno != pgno {
                return Err(corrupt(format!("page {pgno} is not an overflow page")));
            }
            let length = usize::from(header.hf_offset);
            // libdb fills every overflow page it writes (all but the last completely). An
            // empty one would let a chain be as long as the file whatever its item's length,
            // and items sharing such a chain would make each walk cost the whole file.
            if length == 0 {
                return Err(corrupt(format!("overflow page {pgno} is empty")));
            }
            let data = page
                .get(PAGE_HEADER..PAGE_HEADER + length)
                .ok_or_else(|| corrupt(format!("overflow page {pgno} overruns")))?;
            seen += length;
            if seen > total {
                return Err(corrupt("overflow chain longer than its item"));
            }
            if !chunk(data) {
                return Ok(());
            }
            if seen == total {
                return Ok(());
            }
            pgno = header.next;
        }
    }
}

/// The item bytes a walk over every bucket may still produce.
struct Budget(usize);

impl Budget {
    fn spend(&mut self, bytes: usize) -> Result<(), StoreError> {
        self.0 = self
            .0
            .checked_sub(bytes)
            .ok_or_else(|| corrupt("items reference the same data more than once"))?;
        Ok(())
    }
}

fn array4(bytes: &[u8], offset: usize) -> Option<[u8; 4]> {
    bytes.get(offset..offset + 4)?.try_into().ok()
}

fn array2(bytes: &[u8], offset: usize) -> Option<[u8; 2]> {
    bytes.get(offset..offset + 2)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::super::{WriteOptions, write};
    use super::*;

    const PS: usize = 512;

    /// A 512-byte-page file with one small pair and one pair whose value overflows; returns
    /// it with the page number of the bucket holding the big value.
    fn sample() -> (Vec<u8>, usize) {
        let big = vec![b'v'; 1000];
        let pairs: [(&[u8], &[u8]); 2] = [(b"small", b"value"), (b"big", &big)];
        let options = WriteOptions {
            page_size: PS,
            byte_order: ByteOrder::Little,
            uid: [3; 20],
        };
        let file = write(&pairs, &options).unwrap();
        let bucket = (ham_func5(b"big") & 1) as usize;
        (file, bucket + 1)
    }

    fn u16_at(file: &mut [u8], offset: usize) -> &mut [u8] {
        &mut file[offset..offset + 2]
    }

    fn expect_corrupt(file: Vec<u8>, what: &str) {
        let error = HashDb::parse(file).and_then(|db| {
            db.get(b"big")?;
            db.get(b"small")?;
            db.pairs().map(drop)
        });
        match error {
            Err(StoreError::Corrupt(message)) => {
                assert!(message.contains(what), "{message:?} lacks {what:?}")
            }
            other => panic!("expected corruption ({what}), got {other:?}"),
        }
    }

    #[test]
    fn sample_reads() {
        let (file, _) = sample();
        let db = HashDb::parse(file).unwrap();
        assert_eq!(db.get(b"big").unwrap().unwrap().len(), 1000);
        assert_eq!(db.get(b"small").unwrap().unwrap().as_slice(), b"value");
        assert_eq!(db.get(b"sma").unwrap(), None);
        assert_eq!(db.pairs().unwrap().len(), 2);
    }

    #[test]
    fn rejects_bad_metadata() {
        let (file, _) = sample();
        let mutate = |offset: usize, bytes: &[u8]| {
            let mut copy = file.clone();
            copy[offset..offset + bytes.len()].copy_from_slice(bytes);
            copy
        };
        expect_corrupt(mutate(12, &0x053162u32.to_le_bytes()), "btree");
        expect_corrupt(mutate(12, &[1, 2, 3, 4]), "not a Berkeley DB hash");
        expect_corrupt(mutate(16, &10u32.to_le_bytes()), "version");
        expect_corrupt(mutate(20, &1000u32.to_le_bytes()), "page size");
        expect_corrupt(mutate(24, &[1]), "encrypted");
        expect_corrupt(mutate(26, &[1]), "checksummed");
        expect_corrupt(mutate(48, &1u32.to_le_bytes()), "duplicates");
        expect_corrupt(file[..file.len() - 1].to_vec(), "multiple of the page size");
        expect_corrupt(file[..100].to_vec(), "shorter than 512");
    }

    #[test]
    fn rejects_bad_pages() {
        let (file, page) = sample();
        let base = page * PS;
        // The bucket page links to itself.
        let mut cycle = file.clone();
        cycle[base + 16..base + 20].copy_from_slice(&u32::try_from(page).unwrap().to_le_bytes());
        expect_corrupt(cycle, "cycle");
        // Its next page is beyond the file.
        let mut beyond = file.clone();
        beyond[base + 16..base + 20].copy_from_slice(&1000u32.to_le_bytes());
        expect_corrupt(beyond, "beyond the file");
        // Offsets out of order.
        let mut order = file.clone();
        let first = u16::from_le_bytes([order[base + 26], order[base + 27]]);
        u16_at(&mut order, base + 28).copy_from_slice(&(first + 1).to_le_bytes());
        expect_corrupt(order, "out of order");
        // An odd item count.
        let mut odd = file.clone();
        u16_at(&mut odd, base + 20).copy_from_slice(&3u16.to_le_bytes());
        expect_corrupt(odd, "odd number");
        // Wrong page type in a bucket.
        let mut kind = file.clone();
        kind[base + 25] = P_OVERFLOW;
        expect_corrupt(kind, "has type");
        // The off-page item's total length disagrees with its chain, either way.
        let offpage = usize::from(u16::from_le_bytes([file[base + 28], file[base + 29]]));
        for (tlen, what) in [
            (999u32, "overflow chain longer"),
            (1001, "overflow chain shorter"),
            (u32::MAX, "longer than the file"),
        ] {
            let mut length = file.clone();
            length[base + offpage + 8..base + offpage + 12].copy_from_slice(&tlen.to_le_bytes());
            expect_corrupt(length, what);
        }
        // An empty overflow page in the chain (lengths still adding up).
        let mut empty = file.clone();
        let at = base + offpage;
        let first_overflow = u32::from_le_bytes(file[at + 4..at + 8].try_into().unwrap());
        let first_overflow = usize::try_from(first_overflow).unwrap() * PS;
        empty[first_overflow + 22..first_overflow + 24].copy_from_slice(&0u16.to_le_bytes());
        empty[at + 8..at + 12]
            .copy_from_slice(&(1000 - u32::try_from(PS - 26).unwrap()).to_le_bytes());
        expect_corrupt(empty, "is empty");
        // The chain points at a bucket page instead of an overflow page.
        let mut target = file.clone();
        target[base + offpage + 4..base + offpage + 8].copy_from_slice(&1u32.to_le_bytes());
        expect_corrupt(target, "not an overflow page");
    }

    /// A `max_bucket` (and `last_pgno`) far beyond the file must not make a full walk
    /// iterate over billions of buckets that cannot exist.
    #[test]
    fn huge_max_bucket_is_walked_in_bounded_time() {
        let (mut file, _) = sample();
        file[32..36].copy_from_slice(&u32::MAX.to_le_bytes()); // last_pgno
        file[72..76].copy_from_slice(&(u32::MAX - 1).to_le_bytes()); // max_bucket
        for doubling in 2..32 {
            // Buckets from 2 on start beyond the file: empty, not errors.
            let at = 96 + 4 * doubling;
            file[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
        }
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Corruption errors are fine; what matters is that the walks end promptly.
            let db = HashDb::parse(file).unwrap();
            let _ = done.send((db.pairs().map(|p| p.len()), db.keys().map(|k| k.len())));
        });
        let outcome = finished.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(
            outcome,
            Ok((Ok(2), Ok(2))),
            "a hostile max_bucket stalled the walk"
        );
    }

    #[test]
    fn big_endian_and_holes() {
        let pairs: [(&[u8], &[u8]); 1] = [(b"k", b"v")];
        let options = WriteOptions {
            page_size: PS,
            byte_order: ByteOrder::Big,
            uid: [0; 20],
        };
        let mut file = write(&pairs, &options).unwrap();
        let db = HashDb::parse(file.clone()).unwrap();
        assert_eq!(db.byte_order(), ByteOrder::Big);
        assert_eq!(db.get(b"k").unwrap().unwrap().as_slice(), b"v");
        // A zeroed (never written) bucket page is an empty bucket, as libdb treats holes.
        let bucket = (ham_func5(b"k") & 1) as usize + 1;
        file[bucket * PS..(bucket + 1) * PS].fill(0);
        let db = HashDb::parse(file).unwrap();
        assert_eq!(db.get(b"k").unwrap(), None);
        assert!(db.pairs().unwrap().is_empty());
    }
}
