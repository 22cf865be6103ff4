package master

// slots gives each live worker a data slot: the lowest number no other
// live worker holds. Workers take their share of unique test data by slot
// (scenario.Placement), so a worker that replaces a departed one takes
// over its rows, which Locust's worker index cannot do (a master never
// gives an index twice). A worker that goes missing frees its slot, as
// the master then gives its users to the others; if it comes back and its
// slot was taken meanwhile, it gets another one (core.heartbeat sends it
// a new ack). A worker that registered while every slot below the number
// of shares was held has no share; when one of those slots is freed, it is
// moved there (compact). Owned by the master's loop goroutine.
type slots struct {
	of     map[string]int // worker id -> its slot, kept while the worker is known
	holder []string       // slot -> the live worker holding it, "" if free
	freed  bool           // a slot was freed since the last compact
}

// take returns id's slot, holding it: the one id had if it is still free,
// else the lowest free one. changed reports a slot other than id's last.
func (s *slots) take(id string) (slot int, changed bool) {
	if s.of == nil {
		s.of = map[string]int{}
	}
	last, known := s.of[id]
	if known && (s.holder[last] == "" || s.holder[last] == id) {
		s.holder[last] = id
		return last, false
	}
	slot = len(s.holder)
	for i, h := range s.holder {
		if h == "" {
			slot = i
			break
		}
	}
	if slot == len(s.holder) {
		s.holder = append(s.holder, "")
	}
	s.holder[slot] = id
	s.of[id] = slot
	return slot, known
}

// free releases id's slot; id keeps it as its last one.
func (s *slots) free(id string) {
	if slot, ok := s.of[id]; ok && s.holder[slot] == id {
		s.holder[slot] = ""
		s.freed = true
	}
}

// compact moves live workers whose slot is count or more (they have no
// share of unique data, so they hold no unique rows) into the free slots
// below count, lowest free slot first, highest slot first. It returns the
// workers moved.
func (s *slots) compact(count int) (moved []string) {
	if !s.freed {
		return nil
	}
	s.freed = false
	for f := 0; f < count && f < len(s.holder); f++ {
		if s.holder[f] != "" {
			continue
		}
		j := len(s.holder) - 1
		for j >= count && s.holder[j] == "" {
			j--
		}
		if j < count {
			break
		}
		id := s.holder[j]
		s.holder[j], s.holder[f], s.of[id] = "", id, f
		moved = append(moved, id)
	}
	return moved
}

// forget releases id's slot and forgets id.
func (s *slots) forget(id string) {
	s.free(id)
	delete(s.of, id)
}
