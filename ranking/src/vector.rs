//! Dense vectors: int8 quantization with a per-vector scale, and the dot-product kernels retrieval
//! spends its time in (a wasm `simd128` path when compiled with that feature, scalar otherwise).

use serde::{Deserialize, Serialize};

/// Largest code magnitude: symmetric, so `-v` quantizes to `-q(v)`.
const MAX_CODE: f32 = 127.0;

/// Quantizes `v` to int8 codes with one scale (`v[i] ≈ codes[i] * scale`).
///
/// Contract: never panics; NaN and infinite components count as 0; an all-zero vector gets scale 0.
pub fn quantize(v: &[f32], codes: &mut Vec<i8>) -> f32 {
    let max = v.iter().filter(|x| x.is_finite()).fold(0.0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / MAX_CODE } else { 0.0 };
    codes.extend(v.iter().map(|&x| {
        if scale == 0.0 || !x.is_finite() { 0 } else { (x / scale).round().clamp(-MAX_CODE, MAX_CODE) as i8 }
    }));
    scale
}

/// `Σ a[i]·b[i]` over the shorter length, exact in i32 (no overflow below 2^17 dimensions).
#[inline]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd::dot(&a[..n], &b[..n])
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        dot_scalar(&a[..n], &b[..n])
    }
}

/// The portable kernel; also the reference the simd path is tested against.
#[inline]
pub fn dot_scalar(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum()
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    /// 16 lanes per step: sign-extend to i16, multiply-add pairs into i32 (`i32x4.dot_i16x8_s`).
    pub fn dot(a: &[i8], b: &[i8]) -> i32 {
        let mut acc = i32x4_splat(0);
        let chunks = a.len() / 16;
        for c in 0..chunks {
            let x = load(&a[c * 16..c * 16 + 16]);
            let y = load(&b[c * 16..c * 16 + 16]);
            acc = i32x4_add(acc, i32x4_dot_i16x8(i16x8_extend_low_i8x16(x), i16x8_extend_low_i8x16(y)));
            acc = i32x4_add(acc, i32x4_dot_i16x8(i16x8_extend_high_i8x16(x), i16x8_extend_high_i8x16(y)));
        }
        let mut sum = i32x4_extract_lane::<0>(acc)
            + i32x4_extract_lane::<1>(acc)
            + i32x4_extract_lane::<2>(acc)
            + i32x4_extract_lane::<3>(acc);
        sum += super::dot_scalar(&a[chunks * 16..], &b[chunks * 16..]);
        sum
    }

    /// Safe 16-byte load (the optimizer turns it into one `v128.load`).
    #[inline(always)]
    fn load(s: &[i8]) -> v128 {
        i8x16(
            s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13], s[14],
            s[15],
        )
    }
}

/// L2-normalizes in place; a zero or non-finite vector becomes all zeros (it then matches nothing).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm.is_finite() && norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    } else {
        v.iter_mut().for_each(|x| *x = 0.0);
    }
}

/// Many int8 vectors of one dimension, stored flat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vectors {
    pub dim: u32,
    #[serde(with = "codes_as_bytes")]
    pub codes: Vec<i8>,
    pub scales: Vec<f32>,
}

/// The codes as one byte string: in postcard the same bytes as a sequence of `i8` (a length, then
/// one two's-complement byte each), but read in one copy instead of one call per byte, which
/// counted in every IVF cell a request decodes.
mod codes_as_bytes {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(codes: &[i8], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = codes.iter().map(|&c| c as u8).collect();
        s.serialize_bytes(&bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i8>, D::Error> {
        d.deserialize_bytes(Codes)
    }

    struct Codes;

    impl<'de> Visitor<'de> for Codes {
        type Value = Vec<i8>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("int8 vector codes as bytes")
        }

        fn visit_bytes<E: Error>(self, bytes: &[u8]) -> Result<Vec<i8>, E> {
            Ok(bytes.iter().map(|&b| b as i8).collect())
        }

        /// Formats without byte strings (JSON) write each code as a number.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<i8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
            while let Some(b) = seq.next_element::<i16>()? {
                out.push(
                    i8::try_from(b)
                        .or_else(|_| u8::try_from(b).map(|u| u as i8))
                        .map_err(A::Error::custom)?,
                );
            }
            Ok(out)
        }
    }
}

impl Vectors {
    pub fn new(dim: usize) -> Vectors {
        Vectors { dim: dim as u32, codes: Vec::new(), scales: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.scales.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    pub fn push(&mut self, v: &[f32]) {
        let dim = self.dim as usize;
        let start = self.codes.len();
        let scale = quantize(&v[..v.len().min(dim)], &mut self.codes);
        self.codes.resize(start + dim, 0);
        self.scales.push(scale);
    }

    /// Appends an already quantized vector (padded or cut to `dim`).
    pub fn push_codes(&mut self, codes: &[i8], scale: f32) {
        let dim = self.dim as usize;
        let start = self.codes.len();
        self.codes.extend_from_slice(&codes[..codes.len().min(dim)]);
        self.codes.resize(start + dim, 0);
        self.scales.push(scale);
    }

    /// Scale of vector `i` (0 when out of range).
    pub fn scale(&self, i: usize) -> f32 {
        self.scales.get(i).copied().unwrap_or(0.0)
    }

    /// Codes of vector `i`; empty when out of range or the data is inconsistent.
    pub fn codes(&self, i: usize) -> &[i8] {
        let dim = self.dim as usize;
        self.codes.get(i * dim..(i + 1) * dim).unwrap_or(&[])
    }

    /// Dequantized vector `i` (zeros when out of range).
    pub fn get(&self, i: usize) -> Vec<f32> {
        let scale = self.scales.get(i).copied().unwrap_or(0.0);
        let mut v: Vec<f32> = self.codes(i).iter().map(|&c| f32::from(c) * scale).collect();
        v.resize(self.dim as usize, 0.0);
        v
    }

    /// Approximate dot product of vector `i` with a query quantized as `(codes, scale)`.
    #[inline]
    pub fn dot(&self, i: usize, q: &[i8], q_scale: f32) -> f32 {
        let s = self.scales.get(i).copied().unwrap_or(0.0) * q_scale;
        let d = dot_i8(self.codes(i), q) as f32 * s;
        if d.is_finite() { d } else { 0.0 }
    }
}

/// A query prepared for int8 scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub codes: Vec<i8>,
    pub scale: f32,
}

impl Query {
    pub fn new(v: &[f32]) -> Query {
        let mut codes = Vec::with_capacity(v.len());
        let scale = quantize(v, &mut codes);
        Query { codes, scale }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_keep_their_stored_form() {
        // The layout before codes were read as bytes: a plain sequence of i8.
        #[derive(Serialize, Deserialize)]
        struct Plain {
            dim: u32,
            codes: Vec<i8>,
            scales: Vec<f32>,
        }
        let v = Vectors { dim: 2, codes: vec![-128, 127, 0, -1], scales: vec![0.5, 2.0] };
        let plain = Plain { dim: 2, codes: v.codes.clone(), scales: v.scales.clone() };
        let bytes = postcard::to_allocvec(&v).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&plain).unwrap());
        assert_eq!(postcard::from_bytes::<Vectors>(&bytes).unwrap(), v);
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(serde_json::from_str::<Vectors>(&json).unwrap(), v);
    }

    #[test]
    fn odd_inputs() {
        let mut c = Vec::new();
        assert_eq!(quantize(&[f32::NAN, f32::INFINITY, 0.0], &mut c), 0.0);
        assert_eq!(c, [0, 0, 0]);
        let mut v = [f32::NAN, 1.0];
        normalize(&mut v);
        assert_eq!(v, [0.0, 0.0]);
        let vs = Vectors::new(4);
        assert_eq!(vs.dot(3, &[1, 2, 3, 4], 1.0), 0.0);
        assert_eq!(vs.get(9), vec![0.0; 4]);
    }

    proptest! {
        #[test]
        fn quantization_error_is_bounded(v in proptest::collection::vec(-10.0f32..10.0, 1..300)) {
            let mut codes = Vec::new();
            let scale = quantize(&v, &mut codes);
            for (x, c) in v.iter().zip(&codes) {
                prop_assert!((x - f32::from(*c) * scale).abs() <= scale / 2.0 + 1e-5);
            }
        }

        #[test]
        fn int8_dot_tracks_f32_dot(a in proptest::collection::vec(-1.0f32..1.0, 64), b in proptest::collection::vec(-1.0f32..1.0, 64)) {
            let mut vs = Vectors::new(64);
            vs.push(&a);
            let q = Query::new(&b);
            let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            // Each factor errs by at most half a step: bound the product's error accordingly.
            let tol = 64.0 * (vs.scales[0] * 1.0 + q.scale * 1.0) / 2.0 + 1e-3;
            prop_assert!((vs.dot(0, &q.codes, q.scale) - exact).abs() <= tol);
        }

        #[test]
        fn kernel_matches_scalar(a in proptest::collection::vec(any::<i8>(), 0..200), b in proptest::collection::vec(any::<i8>(), 0..200)) {
            let n = a.len().min(b.len());
            prop_assert_eq!(dot_i8(&a, &b), dot_scalar(&a[..n], &b[..n]));
        }
    }
}
