// Package slabhttp is a stand-in for slabtrack's slabhttp package.
package slabhttp

import "net/http"

// Middleware gives each request a scope.
func Middleware(next http.Handler) http.Handler { return next }
