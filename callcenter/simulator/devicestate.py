"""Device states as the simulated Asterisk computes and publishes them (DeviceStateChange).

Rules (main/devicestate.c, main/core_local.c, main/channel.c of Asterisk 22; the lab traces):

1. A channel that changes state (Newstate) or goes away (Hangup) makes its device (the channel
   name without ``-<suffix>``: ``Local/agent1@agents``, ``PJSIP/1001``) compute its state again.
2. A Local device is INUSE while one of its pairs has both halves up and the ``;2`` half's
   dialplan thread flagged by core_local (local_devicestate: owner and the caretaker flag),
   NOT_INUSE otherwise. Local channels disable the device-state cache, so every computation is
   published, repeats included: an answered Local call shows INUSE twice, once per half
   (a_answered_agent_hangup). The flag is set once ``ast_pbx_start`` has returned, a race the
   ``;2`` half's own Ringing() can win: then the ring publishes NOT_INUSE (lab.late_device_states).
3. Other devices (a SIP-like phone, app_queue's ``Queue:support``, ``Queue:support_avail``,
   ``Queue:support_pause_<interface>``) are cached: published only when the state changes.

Pure bookkeeping; the :class:`~callcenter.simulator.switch.Switch` emits what it decides. Must not
import asyncio or anything that does IO, nor anything from ``callcenter.ami`` or the daemon.
"""

from __future__ import annotations

from callcenter.simulator.channels import Channel

NOT_INUSE, INUSE, RINGING = "NOT_INUSE", "INUSE", "RINGING"
STATUS = {NOT_INUSE: 1, INUSE: 2, RINGING: 6}  # ast_device_state numbers, as QueueMemberStatus shows them


def is_local(chan: Channel) -> bool:
    return chan.peer is not None


class DeviceStates:
    def __init__(self) -> None:
        self.cached: dict[str, str] = {}  # cachable devices: the state last published
        self.local_inuse: dict[str, int] = {}  # Local device -> pairs in use (rule 2)
        self.live: dict[str, int] = {}  # other devices -> channels up

    def known(self, device: str) -> str:
        """The state a device would report now (ast_device_state)."""
        if device.startswith("Local/"):
            return INUSE if self.local_inuse.get(device, 0) else NOT_INUSE
        return INUSE if self.live.get(device, 0) else NOT_INUSE

    def changed(self, device: str, state: str) -> bool:
        """A cachable device's new state: whether it is news (and so published)."""
        if self.cached.get(device) == state:
            return False
        self.cached[device] = state
        return True

    # -- channel bookkeeping ----------------------------------------------------------------------

    def added(self, chan: Channel) -> None:
        if not is_local(chan):
            device = chan.device
            self.live[device] = self.live.get(device, 0) + 1

    def started(self, two: Channel) -> None:
        """core_local flags the ``;2`` half's dialplan thread."""
        if two.running:
            return
        one = two.peer
        counted_before = one is not None and self._counted(one)
        two.running = True
        if one is not None and not counted_before and self._counted(one):
            device = two.device
            self.local_inuse[device] = self.local_inuse.get(device, 0) + 1

    def gone(self, chan: Channel) -> None:
        """Before ``chan`` is marked hung up."""
        if not is_local(chan):
            device = chan.device
            self.live[device] = self.live.get(device, 0) - 1
            return
        one = chan if chan.name.endswith(";1") else chan.peer
        if one is not None and self._counted(one):
            device = chan.device
            self.local_inuse[device] -= 1

    @staticmethod
    def _counted(one: Channel) -> bool:
        two = one.peer
        return two is not None and not one.hung_up and not two.hung_up and two.running

    def on_change(self, chan: Channel) -> tuple[str, str] | None:
        """After a Newstate or a Hangup of ``chan``: the (device, state) to publish, if any."""
        device = chan.device
        if is_local(chan):
            return device, (INUSE if self.local_inuse.get(device, 0) else NOT_INUSE)
        state = INUSE if self.live.get(device, 0) else NOT_INUSE
        return (device, state) if self.changed(device, state) else None

    def reset(self) -> None:
        self.cached.clear()
        self.local_inuse.clear()
        self.live.clear()
