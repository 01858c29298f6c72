-- webhook_enqueue runs for every message and every conversation change.
-- As a LANGUAGE sql function that is not inlined it was planned anew at
-- every call; in PL/pgSQL its statements keep their plans for the
-- session. It also leaves at once when the account has no active
-- webhook, which is most accounts most of the time.
CREATE OR REPLACE FUNCTION webhook_enqueue(p_account uuid, p_event text, p_conversation uuid,
                                           p_message uuid, p_status text, p_assignee uuid,
                                           p_at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.account_id = p_account AND w.active) THEN
        RETURN;
    END IF;
    INSERT INTO webhook_deliveries (id, webhook_id, event, rank, conversation_id, message_id,
                                    status_then, assignee_then, created_at)
    SELECT gen_random_uuid(), w.id, p_event,
           CASE WHEN p_event = 'conversation.created' THEN 0 ELSE 1 END,
           p_conversation, p_message, p_status, p_assignee, p_at
      FROM webhooks w
     WHERE w.account_id = p_account AND w.active
       AND (' ' || w.events || ' ') LIKE '% ' || p_event || ' %';
END;
$$;
