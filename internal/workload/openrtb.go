package workload

import "encoding/json"

// The bid request and response, in the shape of OpenRTB 2.5 as prebid
// servers model it: ordinary Go structs with slices of values, nested
// pointers, strings, pointers to small integers where the specification
// tells "absent" from zero, an ext on most objects kept as raw JSON
// (json.RawMessage) for the extensions the bidder passes on unread, and the
// impression's ext as a map from bidder to its parameters.
//
// Tags use omitempty only on strings, slices, maps and pointers, and
// omitzero on numbers, so that encoding/json and json v2 encode a response
// to the same bytes (their omitempty rules differ for numbers).

// BidRequest is the top-level object of a bid request.
type BidRequest struct {
	ID      string          `json:"id"`
	Imp     []Imp           `json:"imp"`
	Site    *Site           `json:"site,omitempty"`
	App     *App            `json:"app,omitempty"`
	Device  *Device         `json:"device,omitempty"`
	User    *User           `json:"user,omitempty"`
	Test    int             `json:"test,omitzero"`
	AT      int             `json:"at,omitzero"`
	TMax    int             `json:"tmax,omitzero"`
	WSeat   []string        `json:"wseat,omitempty"`
	BSeat   []string        `json:"bseat,omitempty"`
	AllImps int             `json:"allimps,omitzero"`
	Cur     []string        `json:"cur,omitempty"`
	WLang   []string        `json:"wlang,omitempty"`
	BCat    []string        `json:"bcat,omitempty"`
	BAdv    []string        `json:"badv,omitempty"`
	BApp    []string        `json:"bapp,omitempty"`
	Source  *SupplySource   `json:"source,omitempty"`
	Regs    *Regs           `json:"regs,omitempty"`
	Ext     json.RawMessage `json:"ext,omitempty"`
}

// Imp is one impression offered for sale. Ext maps each bidder allowed to
// bid on it to that bidder's parameters, beside prebid's own keys ("gpid",
// "data", "tid").
type Imp struct {
	ID                string                     `json:"id"`
	Metric            []Metric                   `json:"metric,omitempty"`
	Banner            *Banner                    `json:"banner,omitempty"`
	Video             *Video                     `json:"video,omitempty"`
	Native            *Native                    `json:"native,omitempty"`
	PMP               *PMP                       `json:"pmp,omitempty"`
	DisplayManager    string                     `json:"displaymanager,omitempty"`
	DisplayManagerVer string                     `json:"displaymanagerver,omitempty"`
	Instl             int                        `json:"instl,omitzero"`
	TagID             string                     `json:"tagid,omitempty"`
	BidFloor          float64                    `json:"bidfloor,omitzero"`
	BidFloorCur       string                     `json:"bidfloorcur,omitempty"`
	ClickBrowser      int                        `json:"clickbrowser,omitzero"`
	Secure            *int8                      `json:"secure,omitempty"`
	IframeBuster      []string                   `json:"iframebuster,omitempty"`
	Exp               int                        `json:"exp,omitzero"`
	Ext               map[string]json.RawMessage `json:"ext,omitempty"`
}

// Metric is a measurement the exchange offers about an impression, such as
// its viewability.
type Metric struct {
	Type   string          `json:"type"`
	Value  float64         `json:"value,omitzero"`
	Vendor string          `json:"vendor,omitempty"`
	Ext    json.RawMessage `json:"ext,omitempty"`
}

// Banner is a display impression and the sizes it accepts.
type Banner struct {
	Format   []Format        `json:"format,omitempty"`
	W        *int            `json:"w,omitempty"`
	H        *int            `json:"h,omitempty"`
	BType    []int           `json:"btype,omitempty"`
	BAttr    []int           `json:"battr,omitempty"`
	Pos      int             `json:"pos,omitzero"`
	MIMEs    []string        `json:"mimes,omitempty"`
	TopFrame int             `json:"topframe,omitzero"`
	ExpDir   []int           `json:"expdir,omitempty"`
	API      []int           `json:"api,omitempty"`
	ID       string          `json:"id,omitempty"`
	VCM      int             `json:"vcm,omitzero"`
	Ext      json.RawMessage `json:"ext,omitempty"`
}

// Format is one size a banner accepts.
type Format struct {
	W      int             `json:"w,omitzero"`
	H      int             `json:"h,omitzero"`
	WRatio int             `json:"wratio,omitzero"`
	HRatio int             `json:"hratio,omitzero"`
	WMin   int             `json:"wmin,omitzero"`
	Ext    json.RawMessage `json:"ext,omitempty"`
}

// Video is a video impression.
type Video struct {
	MIMEs          []string        `json:"mimes"`
	MinDuration    int             `json:"minduration,omitzero"`
	MaxDuration    int             `json:"maxduration,omitzero"`
	Protocols      []int           `json:"protocols,omitempty"`
	W              int             `json:"w,omitzero"`
	H              int             `json:"h,omitzero"`
	StartDelay     *int            `json:"startdelay,omitempty"`
	Placement      int             `json:"placement,omitzero"`
	Linearity      int             `json:"linearity,omitzero"`
	Skip           *int8           `json:"skip,omitempty"`
	BAttr          []int           `json:"battr,omitempty"`
	MaxBitrate     int             `json:"maxbitrate,omitzero"`
	BoxingAllowed  int             `json:"boxingallowed,omitzero"`
	PlaybackMethod []int           `json:"playbackmethod,omitempty"`
	Delivery       []int           `json:"delivery,omitempty"`
	Pos            int             `json:"pos,omitzero"`
	API            []int           `json:"api,omitempty"`
	Ext            json.RawMessage `json:"ext,omitempty"`
}

// Native is a native impression; Request is the native request, itself a
// JSON document carried as a string.
type Native struct {
	Request string          `json:"request"`
	Ver     string          `json:"ver,omitempty"`
	API     []int           `json:"api,omitempty"`
	BAttr   []int           `json:"battr,omitempty"`
	Ext     json.RawMessage `json:"ext,omitempty"`
}

// PMP is the private marketplace of an impression: the deals it is offered
// under.
type PMP struct {
	PrivateAuction int             `json:"private_auction,omitzero"`
	Deals          []Deal          `json:"deals,omitempty"`
	Ext            json.RawMessage `json:"ext,omitempty"`
}

// Deal is one private deal.
type Deal struct {
	ID          string          `json:"id"`
	BidFloor    float64         `json:"bidfloor,omitzero"`
	BidFloorCur string          `json:"bidfloorcur,omitempty"`
	AT          int             `json:"at,omitzero"`
	WSeat       []string        `json:"wseat,omitempty"`
	WADomain    []string        `json:"wadomain,omitempty"`
	Ext         json.RawMessage `json:"ext,omitempty"`
}

// Site is the web site the impressions appear on.
type Site struct {
	ID            string          `json:"id,omitempty"`
	Name          string          `json:"name,omitempty"`
	Domain        string          `json:"domain,omitempty"`
	Cat           []string        `json:"cat,omitempty"`
	SectionCat    []string        `json:"sectioncat,omitempty"`
	PageCat       []string        `json:"pagecat,omitempty"`
	Page          string          `json:"page,omitempty"`
	Ref           string          `json:"ref,omitempty"`
	Search        string          `json:"search,omitempty"`
	Mobile        int             `json:"mobile,omitzero"`
	PrivacyPolicy int             `json:"privacypolicy,omitzero"`
	Publisher     *Publisher      `json:"publisher,omitempty"`
	Content       *Content        `json:"content,omitempty"`
	Keywords      string          `json:"keywords,omitempty"`
	Ext           json.RawMessage `json:"ext,omitempty"`
}

// App is the mobile application the impressions appear in.
type App struct {
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Bundle    string          `json:"bundle,omitempty"`
	Domain    string          `json:"domain,omitempty"`
	StoreURL  string          `json:"storeurl,omitempty"`
	Cat       []string        `json:"cat,omitempty"`
	Ver       string          `json:"ver,omitempty"`
	Publisher *Publisher      `json:"publisher,omitempty"`
	Content   *Content        `json:"content,omitempty"`
	Keywords  string          `json:"keywords,omitempty"`
	Ext       json.RawMessage `json:"ext,omitempty"`
}

// Publisher owns the site or app.
type Publisher struct {
	ID     string          `json:"id,omitempty"`
	Name   string          `json:"name,omitempty"`
	Cat    []string        `json:"cat,omitempty"`
	Domain string          `json:"domain,omitempty"`
	Ext    json.RawMessage `json:"ext,omitempty"`
}

// Content is what the user is looking at.
type Content struct {
	ID         string          `json:"id,omitempty"`
	Episode    int             `json:"episode,omitzero"`
	Title      string          `json:"title,omitempty"`
	Series     string          `json:"series,omitempty"`
	Genre      string          `json:"genre,omitempty"`
	URL        string          `json:"url,omitempty"`
	Cat        []string        `json:"cat,omitempty"`
	ProdQ      int             `json:"prodq,omitzero"`
	Keywords   string          `json:"keywords,omitempty"`
	LiveStream int             `json:"livestream,omitzero"`
	Language   string          `json:"language,omitempty"`
	Data       []Data          `json:"data,omitempty"`
	Ext        json.RawMessage `json:"ext,omitempty"`
}

// Device is the user's device.
type Device struct {
	UA             string          `json:"ua,omitempty"`
	Geo            *Geo            `json:"geo,omitempty"`
	DNT            *int8           `json:"dnt,omitempty"`
	Lmt            *int8           `json:"lmt,omitempty"`
	IP             string          `json:"ip,omitempty"`
	IPv6           string          `json:"ipv6,omitempty"`
	DeviceType     int             `json:"devicetype,omitzero"`
	Make           string          `json:"make,omitempty"`
	Model          string          `json:"model,omitempty"`
	OS             string          `json:"os,omitempty"`
	OSV            string          `json:"osv,omitempty"`
	H              int             `json:"h,omitzero"`
	W              int             `json:"w,omitzero"`
	PxRatio        float64         `json:"pxratio,omitzero"`
	JS             int             `json:"js,omitzero"`
	Language       string          `json:"language,omitempty"`
	Carrier        string          `json:"carrier,omitempty"`
	ConnectionType *int            `json:"connectiontype,omitempty"`
	IFA            string          `json:"ifa,omitempty"`
	Ext            json.RawMessage `json:"ext,omitempty"`
}

// Geo is a location.
type Geo struct {
	Lat       float64         `json:"lat,omitzero"`
	Lon       float64         `json:"lon,omitzero"`
	Type      int             `json:"type,omitzero"`
	Accuracy  int             `json:"accuracy,omitzero"`
	Country   string          `json:"country,omitempty"`
	Region    string          `json:"region,omitempty"`
	Metro     string          `json:"metro,omitempty"`
	City      string          `json:"city,omitempty"`
	ZIP       string          `json:"zip,omitempty"`
	UTCOffset int             `json:"utcoffset,omitzero"`
	Ext       json.RawMessage `json:"ext,omitempty"`
}

// User is the audience: what data providers know of the user. Ext carries
// the consent string and the extended identifiers, which the bidder passes
// on unread.
type User struct {
	ID       string          `json:"id,omitempty"`
	BuyerUID string          `json:"buyeruid,omitempty"`
	YOB      int             `json:"yob,omitzero"`
	Gender   string          `json:"gender,omitempty"`
	Keywords string          `json:"keywords,omitempty"`
	Geo      *Geo            `json:"geo,omitempty"`
	Data     []Data          `json:"data,omitempty"`
	Ext      json.RawMessage `json:"ext,omitempty"`
}

// Data is one data provider's segments.
type Data struct {
	ID      string          `json:"id,omitempty"`
	Name    string          `json:"name,omitempty"`
	Segment []Segment       `json:"segment,omitempty"`
	Ext     json.RawMessage `json:"ext,omitempty"`
}

// Segment is one audience segment.
type Segment struct {
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Value string          `json:"value,omitempty"`
	Ext   json.RawMessage `json:"ext,omitempty"`
}

// Regs are the regulations that apply to the request; Ext carries the GDPR
// and CCPA signals.
type Regs struct {
	COPPA int             `json:"coppa,omitzero"`
	Ext   json.RawMessage `json:"ext,omitempty"`
}

// SupplySource is OpenRTB's source object, "source" in JSON: who sells the
// impressions. Ext carries the supply chain, every seller the request
// passed through.
type SupplySource struct {
	FD     int             `json:"fd,omitzero"`
	TID    string          `json:"tid,omitempty"`
	PChain string          `json:"pchain,omitempty"`
	Ext    json.RawMessage `json:"ext,omitempty"`
}

// BidResponse is the answer to a BidRequest.
type BidResponse struct {
	ID      string      `json:"id"`
	SeatBid []SeatBid   `json:"seatbid,omitempty"`
	BidID   string      `json:"bidid,omitempty"`
	Cur     string      `json:"cur,omitempty"`
	NBR     int         `json:"nbr,omitzero"`
	Ext     ResponseExt `json:"ext"`
}

// ResponseExt reports what the bidder considered.
type ResponseExt struct {
	Candidates int `json:"candidates"`
	Eligible   int `json:"eligible"`
	Objects    int `json:"objects"`
	// BidsPerSeat counts the bids of each seat that bid.
	BidsPerSeat Counts `json:"bidsperseat,omitempty"`
}

// SeatBid is the bids of one seat. Ext is raw JSON the seat's buyer reads.
type SeatBid struct {
	Bid   []Bid           `json:"bid"`
	Seat  string          `json:"seat,omitempty"`
	Group int             `json:"group,omitzero"`
	Ext   json.RawMessage `json:"ext,omitempty"`
}

// Bid is an offer to buy one impression.
type Bid struct {
	ID      string   `json:"id"`
	ImpID   string   `json:"impid"`
	Price   float64  `json:"price"`
	NURL    string   `json:"nurl,omitempty"`
	BURL    string   `json:"burl,omitempty"`
	LURL    string   `json:"lurl,omitempty"`
	AdM     string   `json:"adm,omitempty"`
	AdID    string   `json:"adid,omitempty"`
	ADomain []string `json:"adomain,omitempty"`
	IURL    string   `json:"iurl,omitempty"`
	CID     string   `json:"cid,omitempty"`
	CrID    string   `json:"crid,omitempty"`
	Cat     []string `json:"cat,omitempty"`
	Attr    []int    `json:"attr,omitempty"`
	DealID  string   `json:"dealid,omitempty"`
	W       int      `json:"w,omitzero"`
	H       int      `json:"h,omitzero"`
	Exp     int      `json:"exp,omitzero"`
	Ext     *BidExt  `json:"ext,omitempty"`
}

// BidExt carries the ad server targeting of a bid.
type BidExt struct {
	Prebid BidExtPrebid `json:"prebid"`
}

// BidExtPrebid is the media type and the targeting keys of a bid: the
// key-values (hb_pb, hb_bidder, hb_size, hb_deal, ...) an ad server matches
// line items on.
type BidExtPrebid struct {
	Type      string  `json:"type"`
	Targeting Targets `json:"targeting"`
}
