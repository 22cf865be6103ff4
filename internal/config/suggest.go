package config

// closestMatch returns the candidate most similar to word, or "" when none
// reaches a similarity of 0.6. Similarity is the Ratcliff/Obershelp ratio
// 2*M/T (M = characters in matching blocks, T = total length), the measure
// Python's difflib.get_close_matches uses for Locust's "Did you mean" hint;
// ties go to the later candidate in sort order, as there.
func closestMatch(word string, candidates []string) string {
	best, bestScore := "", 0.0
	for _, c := range candidates {
		r := similarity(word, c)
		if r < 0.6 {
			continue
		}
		if r > bestScore || r == bestScore && c > best {
			best, bestScore = c, r
		}
	}
	return best
}

func similarity(a, b string) float64 {
	if len(a)+len(b) == 0 {
		return 1
	}
	return 2 * float64(matchingChars(a, b)) / float64(len(a)+len(b))
}

// matchingChars counts the characters in the matching blocks found by taking
// the longest common substring (leftmost in a, then in b), then recursing on
// the pieces left and right of it.
func matchingChars(a, b string) int {
	if a == "" || b == "" {
		return 0
	}
	i, j, k := longestCommon(a, b)
	if k == 0 {
		return 0
	}
	return k + matchingChars(a[:i], b[:j]) + matchingChars(a[i+k:], b[j+k:])
}

func longestCommon(a, b string) (besti, bestj, bestk int) {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
				if k := cur[j]; k > bestk {
					besti, bestj, bestk = i-k, j-k, k
				}
			} else {
				cur[j] = 0
			}
		}
		prev, cur = cur, prev
	}
	return besti, bestj, bestk
}
