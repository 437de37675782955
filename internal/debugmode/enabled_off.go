//go:build !slabdebug

package debugmode

// Enabled is false in default builds, which carry no debug mode and never
// read EnvVar.
const Enabled = false
