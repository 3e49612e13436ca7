// Package witness keeps copies of the signed audit checkpoints outside the
// database, where a database superuser cannot rewrite them: a JetStream
// stream that denies deletes and purges, and an append-only file of JWS
// lines (for write-once storage). sessiond appends every checkpoint to
// them; `sessiond audit verify --witness` reads them back and checks the
// log against each. It is an adapter: it imports no other adapter and
// nothing of the program.
package witness
