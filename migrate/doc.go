// Package migrate moves a project from PM2 or from bd's auto-started background
// daemon to beadsctl.
//
// The import half (ReadEcosystem, Convert, ImportFile) evaluates a PM2
// ecosystem file in a goja sandbox and maps its apps to a beads.hcl written
// with hclwrite; it imports schema and nothing else of ours. The migration half
// (Detect, Run) finds the old daemon, stops it, cleans bd's stale files and
// applies beads.hcl; it may import reconcile and supervisor.
package migrate
