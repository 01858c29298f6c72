-- Storing a message moves its conversation's sequence and activity time in
-- the same statement, so that an outbound append is one atomic INSERT ...
-- SELECT (fence, next seq, insert, bump) and one round trip.
CREATE TRIGGER messages_bump_conversation AFTER INSERT ON messages
BEGIN
    UPDATE conversations
       SET last_seq = NEW.seq,
           last_message_at = NEW.created_at
     WHERE id = NEW.conversation_id AND last_seq < NEW.seq;
END;
