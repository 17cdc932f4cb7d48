// Package dirlock serialises the one-time set-up of files in a data
// directory (creating and migrating a database, writing a generated
// secret) between the processes and handles that may start on it at the
// same moment, with an exclusive lock on the directory itself.
package dirlock
