package natsbus

// PublishRaw publishes data on b's subject as is, for tests.
func PublishRaw(b *Bus, data []byte) error {
	if err := b.conn.Publish(b.subject, data); err != nil {
		return err
	}
	return b.conn.Flush()
}

// PublishRawProof publishes data on b's proofs subject as is, for tests.
func PublishRawProof(b *Bus, data []byte) error {
	if err := b.conn.Publish(b.proofSubject, data); err != nil {
		return err
	}
	return b.conn.Flush()
}
