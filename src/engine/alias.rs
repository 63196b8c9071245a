//! Walker/Vose alias table: O(1) sampling of an index with given weights.

/// Alias table over `n` weights.
#[derive(Debug, Clone, Default)]
pub struct AliasTable {
    prob: Vec<f64>,
    alias: Vec<u32>,
}

impl AliasTable {
    /// Builds the table; weights must be finite and >= 0 with a positive sum.
    pub fn new(weights: &[f64]) -> AliasTable {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut prob: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| prob[i] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            alias[s] = l as u32;
            prob[l] -= 1.0 - prob[s];
            if prob[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Leftovers are 1 up to rounding.
        for i in small.into_iter().chain(large) {
            prob[i] = 1.0;
        }
        AliasTable { prob, alias }
    }

    /// Samples an index from one uniform 64-bit word `x`: `x · n / 2⁶⁴ = i + f`, column `i` (the
    /// product's high word) and the coin `f` (the top 53 bits of its low word). Column `i` has
    /// probability within `n / 2⁶⁴` of `1/n`, and `f` is uniform on a grid of `2⁻⁵³` to within
    /// `n / 2⁶⁴`: the table's probabilities to 1e-15.
    pub fn sample_bits(&self, x: u64) -> usize {
        let product = u128::from(x) * self.prob.len() as u128;
        let i = (product >> 64) as usize;
        let coin = super::streams::unit_f64(product as u64);
        if coin < self.prob[i] {
            i
        } else {
            self.alias[i] as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One word per draw: over a grid of 2^20 evenly spaced words, each index comes up with its
    /// weight's share to within one grid step per column and coin (the grid's resolution).
    #[test]
    fn one_word_draws_give_the_weights() {
        let w = [1.0, 3.0, 0.0, 6.0, 2.5];
        let t = AliasTable::new(&w);
        let n = 1u64 << 20;
        let mut counts = [0u64; 5];
        for j in 0..n {
            counts[t.sample_bits((j << 44) | 0x0000_0abc_def1)] += 1;
        }
        let total: f64 = w.iter().sum();
        for (c, wc) in w.iter().enumerate() {
            let share = counts[c] as f64 / n as f64;
            assert!(
                (share - wc / total).abs() < 2.0 * w.len() as f64 / n as f64,
                "{counts:?}"
            );
        }
        assert_eq!(counts[2], 0);
        assert!(t.sample_bits(u64::MAX) < w.len());
    }
}
