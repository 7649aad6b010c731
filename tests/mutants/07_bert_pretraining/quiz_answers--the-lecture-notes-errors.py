# loses: test_q3, test_q8
answer_q1 = "b"
answer_q2 = "a"
answer_q3 = "b"
answer_q4 = "d"
answer_q5 = "b"
answer_q6 = 30
answer_q7 = 4
answer_q8 = "a"
