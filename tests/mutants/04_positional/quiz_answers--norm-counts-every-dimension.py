# loses: test_q2
answer_q1 = "b"
answer_q2 = 512
answer_q3 = "b"
answer_q4 = 393216
answer_q5 = "b"
