//! The review stream's generator: rand_chacha's `ChaCha8Rng` word for word, sixteen blocks per
//! refill where the processor has AVX-512F.
//!
//! `ChaCha8Rng` refills four 64-byte blocks at a time with AVX2 at best, and that refill was
//! 5.4 % of a `bench.toml` run's samples (every review draws four 64-bit words). Here the sixteen
//! blocks of a refill are computed side by side, one block per 32-bit lane of sixteen 512-bit
//! registers (a register per state word, native rotates), and transposed into block order. The
//! keystream is ChaCha with 8 rounds, the seed as key, a 64-bit block counter from 0 and the
//! stream number as the 64-bit nonce, exactly as `ChaCha8Rng` lays them out; words are handed out
//! in stream order whatever the buffer's size, `next_u64` is two words (the first in the low
//! half) and `fill_bytes` takes whole words, as `ChaCha8Rng` does. So every draw is the same bits
//! (`tests`). Without AVX-512F the buffer is filled from a `ChaCha8Rng` itself.

use std::convert::Infallible;

use rand::{Rng, SeedableRng, TryRng};
use rand_chacha::ChaCha8Rng;

/// Blocks per refill.
const BLOCKS: usize = 16;
/// Words per block.
const BLOCK_WORDS: usize = 16;
const WORDS: usize = BLOCKS * BLOCK_WORDS;

/// "expand 32-byte k", the ChaCha constants.
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// A ChaCha8 stream that draws what `ChaCha8Rng` seeded with the same seed and set to the same
/// stream draws.
#[derive(Clone)]
pub struct ChaCha8Stream {
    words: [u32; WORDS],
    /// The next word of `words` to hand out (`WORDS`: none left).
    next: usize,
    key: [u32; 8],
    nonce: u64,
    /// The block counter of the next refill.
    block: u64,
    /// Where the processor has no AVX-512F: the generator that fills `words`.
    fallback: Option<Box<ChaCha8Rng>>,
}

impl std::fmt::Debug for ChaCha8Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("ChaCha8Stream {}")
    }
}

impl ChaCha8Stream {
    /// The stream `stream` of `ChaCha8Rng::from_seed(seed)`.
    pub fn new(seed: [u8; 32], stream: u64) -> ChaCha8Stream {
        ChaCha8Stream::with_loops(seed, stream, crate::model::wide())
    }

    /// [`new`](Self::new), computing the blocks here (`wide`, which needs AVX-512F) or taking
    /// them from a `ChaCha8Rng`.
    fn with_loops(seed: [u8; 32], stream: u64, wide: bool) -> ChaCha8Stream {
        let key = std::array::from_fn(|i| {
            u32::from_le_bytes(seed[4 * i..4 * i + 4].try_into().expect("four bytes"))
        });
        let fallback = (!wide).then(|| {
            let mut rng = ChaCha8Rng::from_seed(seed);
            rng.set_stream(stream);
            Box::new(rng)
        });
        ChaCha8Stream {
            words: [0; WORDS],
            next: WORDS,
            key,
            nonce: stream,
            block: 0,
            fallback,
        }
    }

    #[cold]
    fn refill(&mut self) {
        match &mut self.fallback {
            Some(rng) => {
                let mut bytes = [0u8; 4 * WORDS];
                rng.fill_bytes(&mut bytes);
                for (w, b) in self.words.iter_mut().zip(bytes.chunks_exact(4)) {
                    *w = u32::from_le_bytes(b.try_into().expect("four bytes"));
                }
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: without a fallback the processor has AVX-512F (`new`).
            None => unsafe { blocks_avx512(&self.key, self.block, self.nonce, &mut self.words) },
            #[cfg(not(target_arch = "x86_64"))]
            None => unreachable!("the blocks are computed here only on x86-64"),
        }
        self.block = self.block.wrapping_add(BLOCKS as u64);
        self.next = 0;
    }
}

impl TryRng for ChaCha8Stream {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        if self.next >= WORDS {
            self.refill();
        }
        let w = self.words[self.next];
        self.next += 1;
        Ok(w)
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        if self.next + 1 < WORDS {
            let (lo, hi) = (self.words[self.next], self.words[self.next + 1]);
            self.next += 2;
            return Ok(u64::from(hi) << 32 | u64::from(lo));
        }
        let lo = self.next_u32();
        let hi = self.next_u32();
        Ok(u64::from(hi) << 32 | u64::from(lo))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        // Whole words, little-endian; a last partial word is used up, as `ChaCha8Rng` does.
        for chunk in dst.chunks_mut(4) {
            let w = self.next_u32().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        Ok(())
    }
}

/// Blocks `block .. block + 16` of the ChaCha8 keystream of `key` and `nonce`, in block order.
///
/// # Safety
/// The processor must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn blocks_avx512(key: &[u32; 8], block: u64, nonce: u64, out: &mut [u32; WORDS]) {
    use std::arch::x86_64::*;
    let set = |w: u32| _mm512_set1_epi32(w as i32);
    // Lane i counts block `block + i`: the low and high halves of sixteen 64-bit counters.
    let base = _mm512_set1_epi64(block as i64);
    let first = _mm512_add_epi64(base, _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
    let second = _mm512_add_epi64(base, _mm512_setr_epi64(8, 9, 10, 11, 12, 13, 14, 15));
    let join = |a: __m256i, b: __m256i| _mm512_inserti64x4::<1>(_mm512_castsi256_si512(a), b);
    let low = join(_mm512_cvtepi64_epi32(first), _mm512_cvtepi64_epi32(second));
    let high = join(
        _mm512_cvtepi64_epi32(_mm512_srli_epi64::<32>(first)),
        _mm512_cvtepi64_epi32(_mm512_srli_epi64::<32>(second)),
    );
    let s: [__m512i; 16] = [
        set(SIGMA[0]),
        set(SIGMA[1]),
        set(SIGMA[2]),
        set(SIGMA[3]),
        set(key[0]),
        set(key[1]),
        set(key[2]),
        set(key[3]),
        set(key[4]),
        set(key[5]),
        set(key[6]),
        set(key[7]),
        low,
        high,
        set(nonce as u32),
        set((nonce >> 32) as u32),
    ];
    let mut x = s;
    #[inline(always)]
    fn quarter(x: &mut [__m512i; 16], a: usize, b: usize, c: usize, d: usize) {
        // SAFETY (every intrinsic): the caller runs with AVX-512F.
        unsafe {
            x[a] = _mm512_add_epi32(x[a], x[b]);
            x[d] = _mm512_rol_epi32::<16>(_mm512_xor_si512(x[d], x[a]));
            x[c] = _mm512_add_epi32(x[c], x[d]);
            x[b] = _mm512_rol_epi32::<12>(_mm512_xor_si512(x[b], x[c]));
            x[a] = _mm512_add_epi32(x[a], x[b]);
            x[d] = _mm512_rol_epi32::<8>(_mm512_xor_si512(x[d], x[a]));
            x[c] = _mm512_add_epi32(x[c], x[d]);
            x[b] = _mm512_rol_epi32::<7>(_mm512_xor_si512(x[b], x[c]));
        }
    }
    // Eight rounds: four of columns, four of diagonals.
    for _ in 0..4 {
        quarter(&mut x, 0, 4, 8, 12);
        quarter(&mut x, 1, 5, 9, 13);
        quarter(&mut x, 2, 6, 10, 14);
        quarter(&mut x, 3, 7, 11, 15);
        quarter(&mut x, 0, 5, 10, 15);
        quarter(&mut x, 1, 6, 11, 12);
        quarter(&mut x, 2, 7, 8, 13);
        quarter(&mut x, 3, 4, 9, 14);
    }
    for (x, s) in x.iter_mut().zip(&s) {
        *x = _mm512_add_epi32(*x, *s);
    }
    // Register j holds word j of the sixteen blocks; transpose so that each holds one block.
    // Within each 128-bit lane, four words of four blocks (4 × 4 of 32 bits) ...
    let mut u = [_mm512_setzero_si512(); 16];
    for g in 0..4 {
        let r = &x[4 * g..4 * g + 4];
        let t0 = _mm512_unpacklo_epi32(r[0], r[1]);
        let t1 = _mm512_unpackhi_epi32(r[0], r[1]);
        let t2 = _mm512_unpacklo_epi32(r[2], r[3]);
        let t3 = _mm512_unpackhi_epi32(r[2], r[3]);
        // u[4e + g], lane L: words 4g .. 4g + 3 of block 4L + e.
        u[g] = _mm512_unpacklo_epi64(t0, t2);
        u[4 + g] = _mm512_unpackhi_epi64(t0, t2);
        u[8 + g] = _mm512_unpacklo_epi64(t1, t3);
        u[12 + g] = _mm512_unpackhi_epi64(t1, t3);
    }
    // ... then the 128-bit lanes (4 × 4 of 128 bits).
    let p = out.as_mut_ptr();
    for e in 0..4 {
        let v = &u[4 * e..4 * e + 4];
        let p0 = _mm512_shuffle_i32x4::<0x44>(v[0], v[1]);
        let p1 = _mm512_shuffle_i32x4::<0xEE>(v[0], v[1]);
        let p2 = _mm512_shuffle_i32x4::<0x44>(v[2], v[3]);
        let p3 = _mm512_shuffle_i32x4::<0xEE>(v[2], v[3]);
        let w = [
            _mm512_shuffle_i32x4::<0x88>(p0, p2),
            _mm512_shuffle_i32x4::<0xDD>(p0, p2),
            _mm512_shuffle_i32x4::<0x88>(p1, p3),
            _mm512_shuffle_i32x4::<0xDD>(p1, p3),
        ];
        for (l, w) in w.into_iter().enumerate() {
            // SAFETY: block 4l + e < 16 starts at word 16 · (4l + e), and `out` holds 256 words.
            unsafe { _mm512_storeu_si512(p.add(BLOCK_WORDS * (4 * l + e)).cast(), w) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    /// Every draw of either path equals `ChaCha8Rng`'s: words, 64-bit words and byte fills of
    /// every length from 0 to 70 mixed at random, across many refills of both buffers, for
    /// several seeds and streams (a stream number above 2³² too).
    #[test]
    fn draws_what_chacha8rng_draws() {
        let mut pick = ChaCha8Rng::seed_from_u64(99);
        for wide in [false, true] {
            if wide && !crate::model::wide() {
                continue;
            }
            for (seed, stream) in [(1u64, 0u64), (7, 2), (20240313, 3), (5, 1 << 40 | 9)] {
                let key = ChaCha8Rng::seed_from_u64(seed).get_seed();
                let mut reference = ChaCha8Rng::from_seed(key);
                reference.set_stream(stream);
                let mut ours = ChaCha8Stream::with_loops(key, stream, wide);
                for _ in 0..20_000 {
                    match pick.random_range(0..4) {
                        0 => assert_eq!(ours.next_u32(), reference.next_u32()),
                        1 | 2 => assert_eq!(ours.next_u64(), reference.next_u64()),
                        _ => {
                            let n = pick.random_range(0..=70);
                            let (mut a, mut b) = ([0u8; 70], [0u8; 70]);
                            ours.fill_bytes(&mut a[..n]);
                            reference.fill_bytes(&mut b[..n]);
                            assert_eq!(a, b, "fill of {n} bytes");
                        }
                    }
                }
            }
        }
    }

    /// The counter's high half is in the state: blocks past 2³² of one stream, by the
    /// keystream's definition (RFC 7539's block function with a 64-bit counter and nonce),
    /// against a scalar block computed here.
    #[test]
    fn blocks_past_the_counters_low_half() {
        if !crate::model::wide() {
            return;
        }
        let key = [1, 2, 3, 4, 5, 6, 7, 8];
        let block = (1u64 << 32) - 8;
        let mut out = [0u32; WORDS];
        // SAFETY: `wide` says the processor has AVX-512F.
        unsafe { blocks_avx512(&key, block, 77, &mut out) };
        for i in 0..BLOCKS {
            let b = block + i as u64;
            let mut s = [0u32; 16];
            s[..4].copy_from_slice(&SIGMA);
            s[4..12].copy_from_slice(&key);
            s[12..].copy_from_slice(&[b as u32, (b >> 32) as u32, 77, 0]);
            let mut x = s;
            let q = |x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize| {
                x[a] = x[a].wrapping_add(x[b]);
                x[d] = (x[d] ^ x[a]).rotate_left(16);
                x[c] = x[c].wrapping_add(x[d]);
                x[b] = (x[b] ^ x[c]).rotate_left(12);
                x[a] = x[a].wrapping_add(x[b]);
                x[d] = (x[d] ^ x[a]).rotate_left(8);
                x[c] = x[c].wrapping_add(x[d]);
                x[b] = (x[b] ^ x[c]).rotate_left(7);
            };
            // Columns, then diagonals, four times.
            let rounds = [[0, 4, 8, 12], [1, 5, 9, 13], [2, 6, 10, 14], [3, 7, 11, 15]]
                .into_iter()
                .chain([[0, 5, 10, 15], [1, 6, 11, 12], [2, 7, 8, 13], [3, 4, 9, 14]]);
            for [a, b, c, d] in rounds.cycle().take(32) {
                q(&mut x, a, b, c, d);
            }
            let expected: Vec<u32> = (0..16).map(|j| x[j].wrapping_add(s[j])).collect();
            assert_eq!(&out[16 * i..16 * i + 16], &expected[..], "block {b}");
        }
    }
}
