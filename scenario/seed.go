package scenario

import (
	"hash/fnv"
	"math"
	"math/rand/v2"

	"go.yaml.in/yaml/v3"
)

// Seeding. Each user has its own random source (UserContext.Rand), which
// picks its tasks, its wait times, its data row in random mode, the
// random pick of an extraction and every random template value (uuid(),
// randint, choice, wchoice and the fake data of fake.go). Without a seed
// it is seeded from the process's random state, as before. With one (the
// scenario's top-level seed, or WithSeed: the command line's --seed),
// the source of the n-th user of a class started by a worker is made
// from (seed, class name, worker index, n) alone, so that two runs with
// the same seed, the same users and the same answers send the same
// values. Seeding costs nothing per request: the source is made once per
// user, as before.

// WithSeed seeds every user's random source from seed, the class, the
// worker's index and the user's number in its class (the command line's
// --seed), over the seed a YAML scenario gives its classes.
func WithSeed(seed uint64) RunnerOption { return func(r *Runner) { r.seed = &seed } }

// userRand returns the random source of the next user of cr. r.mu is held.
func (r *Runner) userRand(cr *classRun) *rand.Rand {
	cr.begun++
	seed := r.seed
	if seed == nil {
		seed = cr.base.seed
	}
	if seed == nil {
		return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	h := fnv.New64a()
	h.Write([]byte(cr.name))
	a := mix64(*seed ^ mix64(h.Sum64()))
	b := mix64(a ^ mix64(uint64(r.place.Index)<<40^cr.begun))
	return rand.New(rand.NewPCG(a, b))
}

// mix64 is SplitMix64's finaliser: a bijection that spreads every input
// bit over the output.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// seed reads the scenario's seed: a non-negative integer.
func (p *parser) seed(n *yaml.Node, path string) (*uint64, error) {
	v, err := p.integer(n, path, 0, math.MaxInt)
	if err != nil {
		return nil, err
	}
	s := uint64(v)
	return &s, nil
}
