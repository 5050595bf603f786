// Package cgroup is what both sides of pawwork-supervisor do with a tree's cgroup
// v2 directory on Linux: list its processes and kill them all at once. (The
// helper executable makes and removes the directories: go/internal/helperserver.)
package cgroup
