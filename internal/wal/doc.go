// Package wal is spoor's write-ahead log. Its one job is to make opaque
// records durable before they are acknowledged and to give them back in order
// after a crash: framing, segment files, group commit, replay and repair of a
// torn tail. It never looks inside a record; the caller encodes its batches.
//
// # On-disk format
//
// A log is a directory of segment files named by a zero-padded sequence
// number: 00000001.wal, 00000002.wal, ... A segment holds whole records back
// to back, with no file header and no padding; a record never spans two
// segments. Each record is a 12-byte header followed by its payload:
//
//	0        4        8        12
//	+--------+--------+--------+------------------------+
//	| magic  | length | crc32c | payload (length bytes) |
//	+--------+--------+--------+------------------------+
//
//	magic   4 bytes "spw\x01" (the last byte is the format version)
//	length  uint32, little-endian, payload length (0 allowed, at most
//	        Options.MaxRecordBytes)
//	crc32c  uint32, little-endian, CRC-32C (Castagnoli) of header bytes
//	        0-7 (magic and length) followed by the payload
//
// The magic makes a zero-filled tail (preallocated blocks, a torn page) read
// as invalid rather than as an empty record, and the CRC covers the length so
// a flipped length bit cannot pass. A Pos is a segment number and the byte
// offset of a record's header in that segment.
//
// # Durability and repair
//
// Append returns only after its record has been written and fsynced;
// concurrent appends share one write and one fsync. Creating and removing
// segment files fsyncs the directory. A failed write or fsync (a full disk)
// makes appends fail at once for a backoff; the first request after it cuts
// the active segment back to its last fsynced record and goes on in a new
// segment, since after a failed fsync the old file's state past that record
// is unknown. Open scans every segment: an invalid
// record in the last segment is taken as a torn write and the file is
// truncated at the last good record; an invalid record in an earlier segment
// is reported and the rest of that segment is skipped on replay. Either way
// Open reports what it found as CorruptionErrors instead of failing.
package wal
