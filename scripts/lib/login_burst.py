"""Failed web logins produced live at RATE per second for SECONDS, stamped with
the wall clock: from one IP (`one`, a credential-stuffing attacker whose window
fills to the engine's 10,000-entry cap) or each from its own IP (`many`, the same
traffic with no hot group). Used by scripts/bench-attack.sh.
    login_burst.py BOOTSTRAP one|many RATE SECONDS"""
import json
import sys
import time

from confluent_kafka import Producer


def main():
    if len(sys.argv) != 5 or sys.argv[2] not in ("one", "many"):
        sys.exit(__doc__)
    bootstrap, mode, rate, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    start, sent = time.time(), 0
    while time.time() - start < seconds:
        due = int((time.time() - start) * rate)
        while sent < due:
            now = time.time()
            ip = "203.0.113.9" if mode == "one" else f"10.{(sent >> 16) & 255}.{(sent >> 8) & 255}.{sent & 255}"
            event = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (int(now * 1000) % 1000),
                     "client_ip": ip, "method": "POST", "path": "/login", "status": 401, "bytes": 1,
                     "user_agent": "ua", "session_id": f"s{sent}", "user": f"user{sent % 500}",
                     "event": "login_failed"}
            producer.produce("retail.web", json.dumps(event).encode())
            sent += 1
        producer.poll(0)
        time.sleep(0.005)
    if producer.flush(10) != 0:
        sys.exit("not every event was delivered")
    print(sent)


if __name__ == "__main__":
    main()
