package config

// ClosestMatch returns the candidate most similar to word, as Locust's
// "did you mean" hint picks it, or "" when none is close enough. The
// subcommands with their own flags (glocust debug) use it.
func ClosestMatch(word string, candidates []string) string { return closestMatch(word, candidates) }
