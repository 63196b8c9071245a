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

    /// Samples an index from two uniforms in `[0, 1)`.
    pub fn sample(&self, u_index: f64, u_coin: f64) -> usize {
        let i = ((u_index * self.prob.len() as f64) as usize).min(self.prob.len() - 1);
        if u_coin < self.prob[i] {
            i
        } else {
            self.alias[i] as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_probabilities_from_a_grid_of_uniforms() {
        let w = [1.0, 3.0, 0.0, 6.0];
        let t = AliasTable::new(&w);
        let n = 400;
        let mut counts = [0usize; 4];
        for i in 0..n {
            for j in 0..n {
                counts[t.sample((i as f64 + 0.5) / n as f64, (j as f64 + 0.5) / n as f64)] += 1;
            }
        }
        let total = (n * n) as f64;
        for (c, wc) in w.iter().enumerate() {
            assert!(
                (counts[c] as f64 / total - wc / 10.0).abs() < 2.0 / n as f64,
                "{counts:?}"
            );
        }
    }
}
