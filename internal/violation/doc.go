// Package violation holds the reports of misuse that debug builds make and
// where they go: the Violation type and its formatting (Kind, Stack, Site),
// the Handler that receives each violation, and the record of the latest,
// for tracker's reports. Package slab builds violations and hands them to
// Report; package tracker re-exports the types (tracker.Violation is this
// Violation) and the handler's API, and formats leak reports with them.
//
// It lies below both so that slab need not import tracker, and tracker can
// import slab.
package violation
