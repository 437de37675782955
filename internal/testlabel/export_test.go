package testlabel

// Labels returns the calling goroutine's labels.
func Labels() map[string]string {
	out := map[string]string{}
	if p := (*labelSet)(getProfLabel()); p != nil {
		for _, l := range p.list {
			out[l.key] = l.value
		}
	}
	return out
}
