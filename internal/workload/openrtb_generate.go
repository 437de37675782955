package workload

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
)

// The marketplace the generated requests come from: the bidder's seats,
// the banner sizes, the audience segments and the deals, shared by the
// generator and by a bidder's catalog so that campaigns match requests.
var (
	// Seats are the buyers a bidder bids for; an impression's ext holds
	// the parameters of those allowed to bid on it.
	Seats = []string{"seat-alpha", "seat-bravo", "seat-charlie", "seat-delta"}
	// Sizes are the banner sizes impressions offer.
	Sizes = []Format{
		{W: 300, H: 250}, {W: 728, H: 90}, {W: 320, H: 50}, {W: 160, H: 600},
		{W: 300, H: 600}, {W: 970, H: 250}, {W: 320, H: 100}, {W: 336, H: 280},
	}
)

// The shape of a generated request and of the marketplace.
const (
	NumImps         = 6
	NumUserSegments = 26 // over three data providers: 10, 8 and 8
	NumSegments     = 60 // distinct segment IDs: seg-000 to seg-059
	NumDeals        = 12 // distinct deal IDs: dl-1000 to dl-1011
)

// SegmentID returns the ID of audience segment i (modulo NumSegments).
func SegmentID(i int) string { return "seg-" + pad3(i%NumSegments) }

// DealID returns the ID of deal i (modulo NumDeals).
func DealID(i int) string { return "dl-" + strconv.Itoa(1000+i%NumDeals) }

func pad3(i int) string {
	s := strconv.Itoa(i)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

// GenerateBidRequest returns bid request number seed: the same request for
// the same seed in every process. Its JSON encoding (SampleBidRequest) is
// about 9 KB: six impressions (banners with several sizes, a video and a
// native slot, deals on four of them, each with the parameters of three
// bidders), a site or an app, a device, a user with 26 segments, and the
// consent string, the identifiers and the supply chain as raw extensions.
func GenerateBidRequest(seed uint64) *BidRequest {
	g := gen{rand.New(rand.NewPCG(seed, 0x5eed_0f_b1d5))}
	return g.request(seed)
}

// SampleBidRequest returns the JSON encoding of GenerateBidRequest(seed),
// as encoding/json writes it.
func SampleBidRequest(seed uint64) []byte {
	b, err := json.Marshal(GenerateBidRequest(seed))
	if err != nil {
		panic("workload: a generated request does not encode: " + err.Error())
	}
	return b
}

// SampleBidRequests returns SampleBidRequest of seeds 1 to n: the requests a
// load cycles through.
func SampleBidRequests(n int) [][]byte {
	bodies := make([][]byte, max(n, 1))
	for i := range bodies {
		bodies[i] = SampleBidRequest(uint64(i + 1))
	}
	return bodies
}

type gen struct{ r *rand.Rand }

func (g gen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

func (g gen) uuid() string {
	return g.hex(8) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(12)
}

func (g gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g gen) price(lo, hi float64) float64 { return round4(lo + g.r.Float64()*(hi-lo)) }

func round4(x float64) float64 { return math.Round(x*10000) / 10000 }

func ptr[T any](v T) *T { return &v }

// raw returns s as raw JSON.
func raw(s string) json.RawMessage { return json.RawMessage(s) }

var (
	domains   = []string{"news.example", "sports.example", "recipes.example", "travel.example", "finance.example"}
	iabCats   = []string{"IAB1", "IAB2", "IAB3", "IAB9", "IAB12", "IAB17", "IAB19", "IAB22", "IAB7-39", "IAB8-18", "IAB25-3", "IAB26"}
	providers = []string{"dataco.example", "audiencehub.example", "segments.example"}
	segNames  = []string{"auto intenders", "frequent travellers", "sports fans", "new parents", "home owners", "gamers", "foodies", "business decision makers", "students", "fitness"}
	mimes     = []string{"image/jpeg", "image/png", "image/gif"}
)

func (g gen) request(seed uint64) *BidRequest {
	r := &BidRequest{
		ID:    g.uuid(),
		AT:    1 + int(seed%2),
		TMax:  120 + 10*g.r.IntN(10),
		Cur:   []string{"USD"},
		BCat:  []string{"IAB7-39", "IAB8-18", "IAB25-3", "IAB26", "IAB9-9"},
		BAdv:  []string{"brand" + strconv.Itoa(int(seed%24)) + ".example", "competitor.example", "casino.example", "loans.example"},
		BApp:  []string{"com.example.rival", "com.example.casino", "com.example.vpn"},
		WLang: []string{"en", "de", "fr"},
	}
	for i := range NumImps {
		r.Imp = append(r.Imp, g.imp(seed, i))
	}
	domain := g.pick(domains)
	pub := &Publisher{
		ID: "pub-" + strconv.Itoa(1000+g.r.IntN(9000)), Name: "Example Media " + g.hex(4), Domain: domain, Cat: []string{g.pick(iabCats)},
		Ext: raw(`{"prebid":{"parentAccount":"acc-` + g.hex(6) + `"}}`),
	}
	content := &Content{
		ID: g.hex(16), Title: "Article " + g.hex(6), Series: "Daily", Genre: "news", URL: "https://" + domain + "/story/" + g.hex(10),
		Cat: []string{g.pick(iabCats), g.pick(iabCats)}, ProdQ: 1, Keywords: "weather,markets,local", Language: "en", Episode: 1 + g.r.IntN(300),
		Data: []Data{{ID: "pubdata", Name: domain, Segment: []Segment{{ID: "ctx-" + g.hex(3)}, {ID: "ctx-" + g.hex(3)}}, Ext: raw(`{"segtax":7}`)}},
	}
	if seed%3 == 2 {
		r.App = &App{
			ID: "app-" + g.hex(6), Name: "Example Reader", Bundle: "com.example.reader" + strconv.Itoa(int(seed%5)),
			StoreURL: "https://apps.example/details?id=com.example.reader", Cat: []string{"IAB12", "IAB1"}, Ver: "5.4.1",
			Publisher: pub, Content: content, Domain: domain, Ext: raw(`{"prebid":{"source":"sdk","version":"2.1.6"}}`),
		}
	} else {
		r.Site = &Site{
			ID: "site-" + g.hex(6), Name: domain, Domain: domain, Cat: []string{"IAB12", g.pick(iabCats)}, SectionCat: []string{"IAB12-2"},
			PageCat: []string{g.pick(iabCats), g.pick(iabCats)}, Page: "https://" + domain + "/story/" + g.hex(10) + "?utm_source=feed",
			Ref: "https://search.example/?q=" + g.hex(6), Mobile: 1, PrivacyPolicy: 1, Publisher: pub, Content: content,
			Keywords: "news,local,weather", Ext: raw(`{"amp":0}`),
		}
	}
	r.Device = &Device{
		UA: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36",
		Geo: &Geo{Lat: g.price(40, 55), Lon: g.price(-5, 15), Type: 2, Accuracy: 20, Country: "DEU", Region: "BE", Metro: "0", City: "Berlin", ZIP: "10115", UTCOffset: 60,
			Ext: raw(`{"ipservice":3}`)},
		DNT: ptr[int8](0), Lmt: ptr[int8](0), IP: "203.0.113." + strconv.Itoa(g.r.IntN(250)), DeviceType: 4,
		Make: "Google", Model: "Pixel 8", OS: "Android", OSV: "14", H: 2400, W: 1080, PxRatio: 2.625, JS: 1,
		Language: "en", Carrier: "Example Mobile", ConnectionType: ptr(2), IFA: g.uuid(), Ext: raw(`{"atts":3,"ifa_type":"aaid"}`),
	}
	r.User = g.user()
	r.Source = &SupplySource{FD: 1, TID: g.uuid(), Ext: raw(`{"schain":{"complete":1,"ver":"1.0","nodes":[` +
		`{"asi":"exchange.example","sid":"pub-` + g.hex(6) + `","rid":"` + r.ID + `","hp":1},` +
		`{"asi":"reseller.example","sid":"` + g.hex(8) + `","hp":1,"name":"Reseller","domain":"reseller.example"},` +
		`{"asi":"ssp.example","sid":"acc-` + g.hex(10) + `","hp":1,"name":"Example SSP","domain":"ssp.example"}]}}`)}
	r.Regs = &Regs{Ext: raw(`{"gdpr":1,"us_privacy":"1YNN"}`)}
	r.Ext = raw(`{"prebid":{"targeting":{"pricegranularity":"dense","includewinners":true,"includebidderkeys":true},"cache":{"bids":{}}}}`)
	return r
}

// impExt returns the ext of impression i: the parameters of every seat but
// the one left out, and prebid's slot keys.
func (g gen) impExt(seed uint64, i int) map[string]json.RawMessage {
	slot := strconv.Itoa(i + 1)
	ext := map[string]json.RawMessage{
		"gpid": raw(`"/2231/home/slot-` + slot + `"`),
		"data": raw(`{"pbadslot":"slot-` + slot + `"}`),
	}
	skip := (int(seed) + i) % len(Seats)
	for k, seat := range Seats {
		if k == skip {
			continue
		}
		ext[seat] = raw(`{"placementId":` + strconv.Itoa(10000+g.r.IntN(90000)) + `,"siteId":"` + g.hex(6) + `"}`)
	}
	return ext
}

func (g gen) imp(seed uint64, i int) Imp {
	imp := Imp{
		ID:                strconv.Itoa(i + 1),
		Metric:            []Metric{{Type: "viewability", Value: g.price(0.3, 0.95)}},
		DisplayManager:    "prebid.js",
		DisplayManagerVer: "8.42.0",
		TagID:             "/2231/" + g.hex(4) + "/slot-" + strconv.Itoa(i+1),
		BidFloor:          g.price(0.2, 1.4),
		BidFloorCur:       []string{"USD", "EUR", "USD"}[(int(seed)+i)%3],
		Secure:            ptr[int8](1),
		Exp:               300,
		Ext:               g.impExt(seed, i),
	}
	switch (int(seed) + i) % 6 {
	case 4:
		imp.Video = &Video{
			MIMEs: []string{"video/mp4", "video/webm"}, MinDuration: 5, MaxDuration: 30, Protocols: []int{2, 3, 5, 6},
			W: 640, H: 480, StartDelay: ptr(0), Placement: 1, Linearity: 1, Skip: ptr[int8](1), MaxBitrate: 2500,
			BoxingAllowed: 1, PlaybackMethod: []int{2}, Delivery: []int{2}, Pos: 1, API: []int{2, 7},
			Ext: raw(`{"context":"instream"}`),
		}
	case 5:
		imp.Native = &Native{
			Ver:     "1.2",
			Request: `{"ver":"1.2","context":1,"plcmttype":1,"assets":[{"id":1,"required":1,"title":{"len":90}},{"id":2,"required":1,"img":{"type":3,"wmin":600,"hmin":314}},{"id":3,"required":0,"data":{"type":1,"len":25}}]}`,
			API:     []int{3},
		}
	default:
		b := &Banner{Pos: 1 + i%3, MIMEs: mimes, TopFrame: 1, API: []int{3, 5}, BAttr: []int{1, 3}, ID: "b" + strconv.Itoa(i+1), Ext: raw(`{"rwdd":0}`)}
		nf := 3 + g.r.IntN(3)
		start := g.r.IntN(len(Sizes))
		for k := range nf {
			s := Sizes[(start+k*3)%len(Sizes)]
			b.Format = append(b.Format, Format{W: s.W, H: s.H})
		}
		b.W, b.H = ptr(b.Format[0].W), ptr(b.Format[0].H)
		imp.Banner = b
	}
	if i%3 != 2 {
		pmp := &PMP{PrivateAuction: 0}
		nd := 2 + g.r.IntN(2)
		for k := range nd {
			d := Deal{ID: DealID(int(seed) + i*3 + k), BidFloor: g.price(0.8, 2.5), BidFloorCur: "USD", AT: 1}
			if k == 1 {
				d.WSeat = []string{Seats[(i+k)%len(Seats)], Seats[(i+k+1)%len(Seats)]}
				d.Ext = raw(`{"priority":` + strconv.Itoa(1+g.r.IntN(3)) + `}`)
			}
			pmp.Deals = append(pmp.Deals, d)
		}
		imp.PMP = pmp
	}
	return imp
}

func (g gen) user() *User {
	u := &User{ID: g.uuid(), BuyerUID: g.hex(24), YOB: 1960 + g.r.IntN(45), Gender: []string{"M", "F", "O"}[g.r.IntN(3)], Keywords: "sports,travel"}
	counts := []int{10, 8, 8}
	perm := g.r.Perm(NumSegments)
	next := 0
	for p, n := range counts {
		d := Data{ID: strconv.Itoa(100 + p), Name: providers[p], Ext: raw(`{"segtax":` + strconv.Itoa(4+p) + `}`)}
		for range n {
			s := Segment{ID: SegmentID(perm[next]), Name: segNames[perm[next]%len(segNames)]}
			if perm[next]%3 == 0 {
				s.Value = strconv.Itoa(1 + perm[next]%5)
			}
			if perm[next]%4 == 0 {
				s.Ext = raw(`{"score":0.` + strconv.Itoa(10+perm[next]) + `}`)
			}
			next++
			d.Segment = append(d.Segment, s)
		}
		u.Data = append(u.Data, d)
	}
	u.Ext = raw(`{"consent":"CP` + g.hex(60) + `.` + g.hex(20) + `AAAA","eids":[` +
		`{"source":"id5-sync.example","uids":[{"id":"ID5*` + g.hex(40) + `","atype":1}]},` +
		`{"source":"uidapi.example","uids":[{"id":"` + g.hex(44) + `","atype":3},{"id":"` + g.hex(20) + `","atype":1}]},` +
		`{"source":"pubcid.example","uids":[{"id":"` + g.uuid() + `","atype":1}]}]}`)
	return u
}
