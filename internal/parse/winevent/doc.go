// Package winevent reads Windows event logs (Security, Sysmon and any other
// channel) into spoor events, from EVTX files and from the JSON shapes
// Windows events are exported in.
//
// Convert is a parse.Converter for one JSON record in any of three shapes,
// detected per record (Looks says whether a record is one of them):
//
//   - NXLog/OTRF JSON lines: one flat object, System fields under NXLog's
//     names (EventID, Channel, Hostname, SourceName, RecordNumber,
//     EventTime, ...) beside the EventData members;
//   - evtx_dump JSON: {"Event":{"System":{..},"EventData":{..}}};
//   - Winlogbeat: {"@timestamp":..,"winlog":{"event_id","channel",
//     "record_id","computer_name","event_data":{..},..},"message":..}.
//
// Decoder is a parse.Decoder for EVTX files; DetectEVTX recognises them by
// their magic. It reads any io.Reader (a file, a zip entry, a gzip stream)
// as a stream: the file header, then one 64 KiB chunk at a time, so memory
// stays bounded whatever the file's size. A chunk whose checksums do not
// match is rejected whole ("corrupt EVTX chunk"), a record the chunk's
// binary XML cannot give is rejected alone ("corrupt EVTX record"), and
// reading goes on. The binary XML is read by this package (binxml.go):
// every read is bounds-checked against the chunk, and nesting, elements,
// text and tokens per record and per chunk are bounded, so a hostile file
// costs bounded memory and time. Values are written as evtx_dump writes
// them: numbers as numbers, HexInt32/64 as "0x..", FILETIME and SYSTEMTIME
// as RFC 3339 UTC (0, "no time", as no value), binary as hex; GUIDs, unlike
// evtx_dump, lowercase in braces (below).
//
// Of the two EVTX libraries in go.mod, 0xrawsec/golang-evtx does not build
// in this module (its dependency golang-utils has no go.sum entry) and
// velocidex/evtx, correct on the real files, is not safe on hostile ones
// (a template instance's argument count of 2^32 allocates without bound;
// mutated chunks were measured taking seconds and being OOM-killed) and
// drops the HexInt and FILETIME types. The tests keep velocidex/evtx as an
// independent record count and as the benchmark baseline.
//
// Whatever the source, an event gets one representation:
//
//   - event_time: the record's TimeCreated (UTC). NXLog's EventTime is the
//     collector's local time without a zone: the offset @timestamp -
//     EventReceivedTime, rounded to 15 minutes, puts it in UTC; without
//     them it is taken as UTC. Winlogbeat: @timestamp.
//   - event_type "sysmon" (channel or provider Sysmon), "winsec" (the
//     Security channel) or "windows"; win_event_id, channel, record_number,
//     hostname as given; summary, the first line of Message when there is
//     one; _subtype, the task category text, from the source or, for
//     Sysmon and Security records that carry only the task number (EVTX,
//     evtx_dump), from the providers' task tables (tasks.go).
//   - the process, user, network, path and success fields of the common
//     Sysmon and Security events (mapping.go), trimmed of surrounding white
//     space (evtx_dump trims it, EVTX records keep it; Raw keeps it).
//   - _id (identity.go): a hash of the lowercased computer and channel,
//     the record number, the second of TimeCreated, the event id and the
//     EventData in one form, so two records with the same number (logs of
//     two machines of one name) are two events, and a record read from an
//     EVTX file and from a JSON export is stored once.
//   - GUIDs lowercase in braces, as Sysmon writes them, in raw from EVTX,
//     evtx_dump and Winlogbeat (by type in EVTX, by the member's name in
//     JSON), so joins on raw->>'ProcessGuid' work across formats; NXLog
//     lines are kept as sent (their EventData GUIDs are in that form).
//   - Raw: one flat JSON object, every EventData (or UserData element)
//     member under its original name, unnamed <Data> as "Data", then the
//     System fields under NXLog-like names (EventID, Channel, Computer,
//     Provider, ProviderGuid, EventRecordID, TimeCreated, Level, Task,
//     Opcode, Keywords, Version, ExecutionProcessID, ExecutionThreadID,
//     UserID, ActivityID, Message); EventData wins a name clash. An NXLog
//     line is already flat and is kept as it is (re-encoded only when it is
//     not strict UTF-8 JSON).
package winevent
